// Secure aggregation and DP through whole simulated federations (real hospital
// sessions): the same seed reaches the same accuracy with and without secure
// aggregation, and distributed DP reports ε.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulation } from '@fedxray/simulation';
import { makeBlobDataset, tempDir } from './support/images';

const base = { hospitals: 3, partition: 'iid', rounds: 2, localEpochs: 1, batchSize: 16, backend: 'cpu' as const, augment: false, workers: true, seed: 9, model: { arch: 'densenet-tiny', imageSize: 16 } };

test('with secure aggregation the final accuracy is within 0.02 of the same run without it; no per-hospital training numbers are kept', { timeout: 300_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 11 });
  const plain = await new Simulation(Simulation.parse({ ...base, data: dir, out: tempDir() })).run();
  const secure = await new Simulation(Simulation.parse({ ...base, data: dir, out: tempDir(), secureAggregation: { enabled: true } })).run();
  assert.equal(plain.result.status, 'complete', plain.result.error);
  assert.equal(secure.result.status, 'complete', secure.result.error);
  assert.deepEqual(secure.result.rounds.map((r) => r.fit.hospitals), [['hospital-1', 'hospital-2', 'hospital-3'], ['hospital-1', 'hospital-2', 'hospital-3']]);
  for (const r of secure.result.rounds) assert.deepEqual(r.fitSites, {});
  assert.equal(secure.result.rounds[0].fit.examples, plain.result.rounds[0].fit.examples, 'the summed example count is the plain total');
  assert.ok(Number.isFinite(secure.result.rounds[0].fit.loss) && Number.isFinite(secure.result.rounds[0].fit.accuracy), 'pooled training loss and accuracy through the sum');
  const diff = Math.abs(secure.result.final!.accuracy - plain.result.final!.accuracy);
  assert.ok(diff <= 0.02, `accuracy ${secure.result.final!.accuracy} vs ${plain.result.final!.accuracy}`);
  assert.deepEqual((secure.summary as { privacy: unknown }).privacy, { secureAggregation: true, dp: null });
});

test('secure aggregation with distributed DP: hospitals add noise shares, ε is reported per round', { timeout: 300_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 20, size: 16, seed: 12 });
  const out = tempDir();
  const r = await new Simulation(Simulation.parse({ ...base, rounds: 1, data: dir, out, secureAggregation: { enabled: true }, dp: { noiseMultiplier: 1, clip: 1 } })).run();
  assert.equal(r.result.status, 'complete', r.result.error);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.privacy.secureAggregation, true);
  assert.equal(summary.privacy.dp.mode, 'distributed');
  assert.equal(summary.privacy.dp.perRound[0].survivors, 3);
  assert.ok(summary.privacy.dp.epsilon > 0 && Number.isFinite(summary.privacy.dp.epsilon));
  assert.ok(Number.isNaN(r.result.rounds[0].fit.loss) || r.result.rounds[0].fit.loss === null, 'no training metrics released under DP');
});

test('a seeded simulation with secure aggregation repeats itself exactly (the rounding is seeded; the keys are not)', { timeout: 300_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 12, size: 16, seed: 13 });
  const run = () => new Simulation(Simulation.parse({ ...base, rounds: 1, data: dir, out: tempDir(), secureAggregation: { enabled: true } })).run();
  const a = await run();
  const b = await run();
  assert.equal(a.result.status, 'complete', a.result.error);
  assert.equal(b.result.status, 'complete', b.result.error);
  assert.equal(a.result.rounds[0].fit.loss, b.result.rounds[0].fit.loss, 'the same pooled training loss');
  assert.deepEqual(a.result.final, b.result.final, 'the same final metrics, to the last digit');
  // calibration and evaluation went through secure sums: no per-site evaluation numbers
  assert.deepEqual(a.result.rounds[0].sites, {});
  assert.ok(a.result.rounds[0].fit.calibratedBy?.length === 3, 'every hospital calibrated (through the sum)');
});
