import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coordinator } from '@fedxray/coordinator';
import { Hospital } from '@fedxray/hospital';
import { partition, scanDataset, splitDataset } from '@fedxray/data';
import type { NamedWeights } from '@fedxray/protocol';
import { makeBlobDataset, tempDir } from './support/images';

test('a federation over real socket.io: the global model moves 1.5 times the example-weighted mean update (fedavg\'s default server learning rate), and the loss falls', { timeout: 240_000 }, async () => {
  // Prepare: a small data set split between two hospitals.
  const { dir } = await makeBlobDataset({ perClass: 40, size: 16, seed: 7 });
  const ds = await scanDataset(dir);
  const split = splitDataset(ds, { seed: 1 });
  const tag = (s: 'train' | 'val' | 'test') => split[s].map((it) => ({ ...it, split: s }));
  const parts = partition([...tag('train'), ...tag('val'), ...tag('test')], 2, 'iid', 3);
  const tokens = { 'hospital-a': 'token-aaaaaaaaaaaaaaaaaaaa', 'hospital-b': 'token-bbbbbbbbbbbbbbbbbbbb' };
  const coordinator = await Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 2,
    minAvailable: 2,
    minFit: 2,
    maxFailures: 0,
    heartbeatIntervalMs: 500,
    waitTimeoutMs: 60_000,
    fit: { localEpochs: 2, batchSize: 16 },
    model: { arch: 'densenet-tiny', imageSize: 16, classes: ds.classes, optimizer: { name: 'adam', learningRate: 0.01 } },
    // FedAvg of every tensor, BatchNorm statistics too, so the global model can be checked against the mean.
    batchNormCalibration: { enabled: false },
    staticTokens: tokens,
    seed: 5,
  });
  const updates: { round: number; examples: number; weights: NamedWeights }[] = [];
  const globals = new Map<number, NamedWeights>();
  coordinator.on('update', (u) => updates.push(u));
  coordinator.on('roundStart', (r) => {
    if (r.round === 1) globals.set(0, coordinator.globalWeights());
  });
  coordinator.on('roundEnd', (r) => globals.set(r.round, coordinator.globalWeights()));
  const hospitals: Hospital[] = [];
  const started = Promise.all(
    (['hospital-a', 'hospital-b'] as const).map((name, i) =>
      Hospital.start({
        coordinator: coordinator.url,
        token: tokens[name],
        trainer: {
          data: {
            classes: ds.classes,
            train: parts[i].filter((it) => it.split === 'train'),
            val: parts[i].filter((it) => it.split === 'val'),
            test: parts[i].filter((it) => it.split === 'test'),
          },
          backend: 'cpu',
          augment: false,
          seed: i,
        },
      }).then((h) => {
        hospitals.push(h);
        return h;
      }),
    ),
  );

  // Execute
  let result;
  try {
    await started;
    result = await coordinator.done;
  } finally {
    await Promise.all(hospitals.map((h) => h.close()));
    if (!result) await coordinator.stop();
    else await coordinator.close();
  }

  // Assert: the run completed both rounds.
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(
    result.rounds.map((r) => r.round),
    [1, 2],
  );
  // Round 1's global weights, tensor by tensor: x + 1.5·(mean − x) from the round-0 model x and the
  // example-weighted mean of the two updates; BatchNorm moving statistics are the mean itself.
  assert.equal((coordinator.state().run.config.strategy as { serverLearningRate?: number }).serverLearningRate, 1.5, 'the default, written into the stored config');
  const r1 = updates.filter((u) => u.round === 1);
  assert.equal(r1.length, 2);
  const total = r1[0].examples + r1[1].examples;
  const [g0, g1] = [globals.get(0)!, globals.get(1)!];
  let maxErr = 0;
  let statistics = 0;
  for (let t = 0; t < g1.length; t++) {
    const a = r1[0].weights[t].values;
    const b = r1[1].weights[t].values;
    assert.equal(r1[0].weights[t].name, g1[t].name);
    assert.equal(g0[t].name, g1[t].name);
    const statistic = /\/moving_(mean|variance)$/.test(g1[t].name);
    if (statistic) statistics++;
    for (let k = 0; k < a.length; k++) {
      const mean = (a[k] * r1[0].examples + b[k] * r1[1].examples) / total;
      const want = statistic ? mean : g0[t].values[k] + 1.5 * (mean - g0[t].values[k]);
      maxErr = Math.max(maxErr, Math.abs(g1[t].values[k] - want) / Math.max(1, Math.abs(want)));
    }
  }
  assert.ok(statistics > 0, 'the model has BatchNorm statistics');
  assert.ok(maxErr <= 1e-5, `max deviation from the server step: ${maxErr}`);
  // The updates differ from each other (the hospitals really trained on different data).
  assert.notDeepEqual(Array.from(r1[0].weights[0].values.slice(0, 8)), Array.from(r1[1].weights[0].values.slice(0, 8)));
  // The global loss fell: initial model → after round 2.
  const initial = coordinator.state().initial;
  assert.ok(initial, 'the initial model was evaluated');
  const last = result.rounds[1].metrics!;
  assert.ok(last.loss < initial.loss, `loss ${initial.loss} → ${last.loss}`);
  assert.ok(last.accuracy > initial.accuracy, `accuracy ${initial.accuracy} → ${last.accuracy}`);
});

test('a federation trains on the wasm backend with the fedxray training kernels', { timeout: 240_000 }, async () => {
  // Stock tfjs wasm has no Conv2DBackpropFilter: a round that trains on wasm at all
  // is a round that ran on the custom kernels, not on the cpu fallback.
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 8 });
  const token = 'token-wasm-000000000000000000';
  const coordinator = await Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 1,
    minAvailable: 1,
    minFit: 1,
    waitTimeoutMs: 60_000,
    fit: { localEpochs: 2, batchSize: 8 },
    model: { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'], optimizer: { name: 'adam', learningRate: 0.01 } },
    staticTokens: { 'hospital-w': token },
  });
  let hospital: Hospital | null = null;
  try {
    hospital = await Hospital.start({ coordinator: coordinator.url, token, trainer: { data: { dir }, backend: 'wasm', augment: false, threads: 0 } });
    assert.equal(hospital.trainer.backend(), 'wasm');
    const result = await coordinator.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(result.rounds[0].fit.hospitals, ['hospital-w']);
    assert.equal(coordinator.state().hospitals[0].backend, 'wasm');
    const initial = coordinator.state().initial!;
    assert.ok(result.rounds[0].metrics!.loss < initial.loss, `loss ${initial.loss} → ${result.rounds[0].metrics!.loss}`);
  } finally {
    await hospital?.close();
    await coordinator.close();
  }
});
