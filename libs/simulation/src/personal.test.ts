import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBlobs } from './testing/blobs';
import { RunStore } from '@fedxray/coordinator';
import type { PersonalTable } from './personal';
import { Simulation } from './simulate';

test('summary.json holds the per-hospital table (global, fine-tuned, alone) on each hospital test split, and both arms settings', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedxray-personal-'));
  try {
    const data = join(root, 'data');
    await makeBlobs(data, 12, 16);
    const out = join(root, 'run');
    const sim = new Simulation(
      Simulation.parse({
        data,
        hospitals: 2,
        rounds: 1,
        localEpochs: 2,
        batchSize: 8,
        model: { arch: 'densenet-tiny', imageSize: 16, head: { units: 16 } },
        backend: 'cpu',
        workers: false,
        baseline: true,
        fineTune: true,
        seed: 5,
        out,
      }),
    );
    let announced: unknown;
    let announcedStrategy: Record<string, unknown> | undefined;
    sim.once('plan', ({ localLoss, strategy }) => {
      announced = localLoss;
      announcedStrategy = strategy;
    });
    const r = await sim.run();
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const plan: { name: string; examples: { train: number; test: number } }[] = summary.hospitals;
    const table: PersonalTable = summary.personalised;
    assert.deepEqual(r.personalised, table);
    assert.deepEqual(
      table.hospitals.map((h: { hospital: string }) => h.hospital),
      plan.map((h) => h.name),
    );
    const lastRound = summary.rounds.at(-1);
    for (const [i, row] of table.hospitals.entries()) {
      // Scored on this hospital's own test split: same images as the coordinator's per-hospital evaluation of the same global model.
      assert.equal(row.testImages, plan[i].examples.test);
      assert.equal(lastRound.sites[row.hospital].examples, row.testImages);
      assert.ok(Math.abs(row.global.accuracy - lastRound.sites[row.hospital].accuracy) < 1e-9, `${row.hospital}: global ${row.global.accuracy} against the coordinator's ${lastRound.sites[row.hospital].accuracy}`);
      for (const col of ['global', 'fineTuned', 'alone'] as const) {
        const score = row[col];
        assert.ok(score && score.accuracy >= 0 && score.accuracy <= 1 && Number.isFinite(score.loss), `${row.hospital} ${col}: ${JSON.stringify(score)}`);
      }
    }
    assert.equal(table.fineTune?.epochs, 1);
    assert.equal(table.alone?.epochs, 2, 'alone trains as many epochs as each hospital did in the federation (rounds × local epochs)');
    // The centralized arm copies the federation's settings and pools exactly the hospitals' splits.
    const fed = summary.federationSettings;
    const base = summary.baseline.settings;
    for (const k of ['batchSize', 'learningRate', 'augment', 'balance', 'maxRepeat', 'seed']) assert.deepEqual(base[k], fed[k], k);
    assert.deepEqual(base.model, fed.model);
    assert.equal(base.epochs, fed.rounds * fed.localEpochs);
    assert.equal(fed.headCalibration, 'last');
    assert.deepEqual(fed.localLoss, { name: 'restricted', scale: 0.5 }, 'the default loss of a softmax run, recorded as resolved');
    assert.deepEqual(announced, fed.localLoss, 'and announced with the plan, for the command line to show');
    assert.equal(fed.strategy.name, 'fedavg');
    assert.equal(fed.strategy.serverLearningRate, 1.5, "the default strategy's server learning rate, recorded as resolved");
    assert.deepEqual(announcedStrategy, fed.strategy, 'and announced with the plan');
    assert.deepEqual(lastRound.fit.headCalibratedBy, plan.map((h) => h.name), 'the last round recalibrated the last layer');
    assert.equal(base.headCalibration, true, 'so the baseline recalibrates its own');
    assert.equal(base.trainImages, plan.reduce((n, h) => n + h.examples.train, 0));
    assert.equal(base.testImages, plan.reduce((n, h) => n + h.examples.test, 0));
    // The run's store holds the table too, for the dashboard's view of the finished run.
    const store = new RunStore(join(out, 'store'));
    try {
      assert.deepEqual(store.run(r.result.runId)?.summary?.personalised, table);
      assert.deepEqual((store.run(r.result.runId)?.config.fit as { localLoss?: unknown }).localLoss, fed.localLoss, 'the loss the coordinator sent the hospitals');
    } finally {
      store.close();
    }
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(report, /## Per hospital: global, fine-tuned, alone/);
    assert.match(report, new RegExp(`\\| hospital-1 \\| ${plan[0].examples.test} \\| ${table.hospitals[0].global.accuracy.toFixed(3)} \\|`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
