import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator, RunStore } from '@fedxray/coordinator';
import { Hospital } from '@fedxray/hospital';
import { makeBlobDataset, tempDir } from './support/images';
import { freePort, runCli } from './support/processes';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'] };

// reliability: A hospital killed (SIGKILL) mid-round | The round completes with the others | no | the hospital's job fails: disconnected
test('a hospital killed (SIGKILL) mid-round: the round completes with the others', { timeout: 240_000 }, async () => {
  const tokens = { h1: 'token-h1-000000000000000000', h2: 'token-h2-000000000000000000', h3: 'token-h3-000000000000000000' };
  const coordinator = await Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 1,
    minAvailable: 3,
    minFit: 2,
    maxFailures: 1,
    heartbeatIntervalMs: 500,
    waitTimeoutMs: 120_000,
    evaluateInitial: false,
    fit: { localEpochs: 3, batchSize: 8 },
    model: MODEL,
    staticTokens: tokens,
  });
  const procs = await Promise.all(
    Object.entries(tokens).map(async ([name, token], i) => {
      const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 10 + i });
      return { name, p: runCli(['hospital', '--coordinator', coordinator.url, '--data', dir, '--backend', 'cpu', '--no-augment'], { FEDXRAY_TOKEN: token }) };
    }),
  );
  try {
    // Kill h3 as soon as it reports training progress in round 1.
    let killed = false;
    coordinator.on('progress', ({ round, hospital }) => {
      if (!killed && round === 1 && hospital === 'h3') {
        killed = true;
        procs[2].p.child.kill('SIGKILL');
      }
    });
    const result = await coordinator.done;
    assert.equal(result.status, 'complete', result.error);
    assert.ok(killed, 'h3 was killed mid-round');
    const r1 = result.rounds[0];
    assert.deepEqual(r1.fit.hospitals, ['h1', 'h2']);
    assert.equal(r1.fit.failures.length, 1);
    assert.equal(r1.fit.failures[0].name, 'h3');
    assert.match(r1.fit.failures[0].error, /disconnected/);
    assert.ok(Number.isFinite(result.final?.accuracy), 'the global model was evaluated after the round');
  } finally {
    for (const { p } of procs) p.child.kill('SIGKILL');
    await coordinator.close();
  }
});

// reliability: The coordinator killed (SIGKILL) mid-round and restarted | The run resumes from the last checkpoint; no round lost or counted twice | no | resuming run runId=… completedRounds=N (coordinator log)
test('the coordinator killed (SIGKILL) mid-round and restarted: the run finishes, no round lost or counted twice', { timeout: 300_000 }, async () => {
  const dataDir = tempDir();
  const port = await freePort();
  const tokens = { h1: 'token-r1-000000000000000000', h2: 'token-r2-000000000000000000' };
  const configPath = join(tempDir(), 'coordinator.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      port,
      rounds: 3,
      minAvailable: 2,
      minFit: 2,
      maxFailures: 0,
      heartbeatIntervalMs: 500,
      evaluateInitial: false,
      fit: { localEpochs: 2, batchSize: 8 },
      model: MODEL,
      staticTokens: tokens,
      runId: 'crash-test',
    }),
  );
  const start = () => runCli(['coordinator', '--data-dir', dataDir, '--config', configPath, '--log', 'json', '--exit-when-done']);
  let coord = start();
  await coord.waitFor(/listening on/);
  const hospitals = await Promise.all(
    Object.entries(tokens).map(async ([, token], i) => {
      const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 20 + i });
      return Hospital.start({
        coordinator: `http://127.0.0.1:${port}`,
        token,
        reconnectDelayMs: 200,
        reconnectDelayMaxMs: 1000,
        trainer: { data: { dir }, backend: 'cpu', augment: false },
      });
    }),
  );
  for (const h of hospitals) h.on('error', () => undefined);
  try {
    // Kill the coordinator once round 2's training has started at a hospital.
    await new Promise<void>((resolve) => hospitals[0].on('fitStart', ({ round }) => round === 2 && resolve()));
    coord.child.kill('SIGKILL');
    await coord.exited;
    coord = start();
    await coord.waitFor(/Run crash-test complete/, 240_000);
    assert.equal(await coord.exited, 0);
    await Promise.all(hospitals.map((h) => h.done));
  } finally {
    await Promise.all(hospitals.map((h) => h.close()));
    coord.child.kill('SIGKILL');
  }
  const store = new RunStore(dataDir);
  try {
    const run = store.run('crash-test')!;
    assert.equal(run.status, 'complete');
    assert.equal(run.completedRounds, 3);
    const rounds = store.rounds('crash-test');
    assert.deepEqual(
      rounds.map((r) => [r.round, r.status]),
      [
        [1, 'complete'],
        [2, 'complete'],
        [3, 'complete'],
      ],
    );
    assert.equal(rounds[0].attempt, 1);
    assert.equal(rounds[1].attempt, 2, 'round 2 was interrupted and done again, once');
    const summary = JSON.parse(readFileSync(join(dataDir, 'runs', 'crash-test', 'summary.json'), 'utf8'));
    assert.deepEqual(
      summary.rounds.map((r: any) => r.round),
      [1, 2, 3],
    );
  } finally {
    store.close();
  }
});

test('a hospital slower than the heartbeat interval is not dropped', { timeout: 180_000 }, async () => {
  const token = 'token-slow-00000000000000000';
  // A 500 ms window: short beside the training (seconds), long enough that a loaded machine's
  // event-loop stalls do not read as a lost hospital.
  const heartbeatIntervalMs = 100;
  const heartbeatMisses = 5;
  const coordinator = await Coordinator.start({
    dataDir: tempDir(),
    port: 0,
    rounds: 1,
    minAvailable: 1,
    minFit: 1,
    maxFailures: 0,
    heartbeatIntervalMs,
    heartbeatMisses,
    evaluateInitial: false,
    fit: { localEpochs: 3, batchSize: 16 },
    model: { ...MODEL, imageSize: 32 },
    staticTokens: { slow: token },
  });
  const { dir } = await makeBlobDataset({ perClass: 24, size: 32, seed: 5 });
  const hospital = await Hospital.start({ coordinator: coordinator.url, token, trainer: { data: { dir }, backend: 'cpu', augment: false } });
  let fitMs = 0;
  hospital.on('fitDone', (d) => (fitMs = d.durationMs));
  try {
    const result = await coordinator.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(result.rounds[0].fit.failures, []);
    assert.deepEqual(result.rounds[0].fit.hospitals, ['slow']);
    // The test means something only if training took many heartbeat windows.
    assert.ok(fitMs > 6 * heartbeatIntervalMs * heartbeatMisses, `training took ${fitMs} ms`);
  } finally {
    await hospital.close();
    await coordinator.close();
  }
});
