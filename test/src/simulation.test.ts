import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulation } from '@fedxray/simulation';
import { makeBlobDataset, tempDir } from './support/images';

const base = { hospitals: 2, partition: 'iid', rounds: 2, localEpochs: 1, batchSize: 16, backend: 'cpu' as const, augment: false, model: { arch: 'densenet-tiny', imageSize: 16 } };

test('the same seed gives the same final metrics in-process', { timeout: 180_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 4 });
  const run = async () => (await new Simulation(Simulation.parse({ ...base, data: dir, seed: 9, out: tempDir() })).run()).result.final!;
  const a = await run();
  const b = await run();
  assert.equal(a.accuracy, b.accuracy);
  assert.equal(a.loss, b.loss);
  assert.equal(a.examples, b.examples);
});

test('one process per hospital: the run completes and writes model, summary and report', { timeout: 180_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 5 });
  const out = tempDir();
  const r = await new Simulation(Simulation.parse({ ...base, data: dir, processes: true, out, baseline: true })).run();
  assert.equal(r.result.status, 'complete', r.result.error);
  assert.deepEqual(
    r.result.rounds.map((x) => x.fit.hospitals),
    [
      ['hospital-1', 'hospital-2'],
      ['hospital-1', 'hospital-2'],
    ],
  );
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(
    summary.rounds.map((x: any) => x.round),
    [1, 2],
  );
  assert.ok(Number.isFinite(summary.final.accuracy) && Number.isFinite(summary.final.loss));
  assert.ok(Number.isFinite(summary.baseline.accuracy), 'baseline reported beside the federation');
  // The study's three numbers: train, validation and test accuracy.
  for (const k of ['trainAccuracy', 'validationAccuracy', 'testAccuracy']) assert.ok(Number.isFinite(summary.study[k]), k);
  assert.equal(summary.study.testAccuracy, summary.final.accuracy);
  for (const f of ['model/model.json', 'report.json', 'report.md', 'confusion.png', 'roc.png']) assert.ok(existsSync(join(out, f)), f);
});

test('50 hospitals in one process with a tiny model complete a run; peak memory is reported', { timeout: 300_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 200, size: 16, seed: 6, classes: ['left', 'right'] });
  const r = await new Simulation(
    Simulation.parse({ ...base, hospitals: 50, rounds: 1, data: dir, workers: false, out: tempDir() }),
  ).run();
  assert.equal(r.result.status, 'complete', r.result.error);
  assert.equal(r.result.rounds[0].fit.hospitals.length, 50);
  assert.ok(r.peakRssMB > 0);
  assert.equal(r.summary.peakRssMB, r.peakRssMB);
});
