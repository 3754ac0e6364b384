import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedWeights } from '@fedxray/protocol';
import { applyBatchNormStats, batchNormStatNames, checkBatchNormReport, poolBatchNormStats } from './batchnorm-stats';

const manifest = [
  { name: 'conv/kernel', shape: [2] },
  { name: 'bn/gamma', shape: [2] },
  { name: 'bn/moving_mean', shape: [2] },
  { name: 'bn/moving_variance', shape: [2] },
];
const stats = (mean: number[], variance: number[]): NamedWeights => [
  { name: 'bn/moving_mean', shape: [2], values: Float32Array.from(mean) },
  { name: 'bn/moving_variance', shape: [2], values: Float32Array.from(variance) },
];

test('exact pooling equals the statistics of the pooled images, and is applied to those tensors only', () => {
  // hospital A: images {1, 3} (mean 2, variance 1); hospital B: images {5, 7, 9} (mean 7, variance 8/3); pooled {1, 3, 5, 7, 9}: mean 5, variance 8
  const pooled = poolBatchNormStats([
    { examples: 2, stats: stats([2, 0], [1, 1]) },
    { examples: 3, stats: stats([7, 0], [8 / 3, 1]) },
  ]);
  assert.deepEqual(batchNormStatNames(manifest), ['bn/moving_mean', 'bn/moving_variance']);
  assert.deepEqual(
    pooled.map((t) => [t.name, Array.from(t.values).map((v) => Number(v.toFixed(5)))]),
    [
      ['bn/moving_mean', [5, 0]],
      ['bn/moving_variance', [8, 1]],
    ],
  );
  const global: NamedWeights = manifest.map((m) => ({ ...m, values: new Float32Array(2) }));
  const applied = applyBatchNormStats(global, pooled);
  assert.equal(applied[0], global[0], 'other tensors are shared, not copied');
  assert.deepEqual(Array.from(applied[2].values), [5, 0]);
  assert.throws(() => poolBatchNormStats([], {}), /at least one/);
  assert.throws(() => poolBatchNormStats([{ examples: 1, stats: stats([0, 0], [1, 1]) }], { pooling: 'median' }), /only one here/);
});

test('a report is refused for too many examples, a negative variance, missing or misnamed statistics, non-finite values', () => {
  const ok = { examples: 10, stats: stats([0, 1], [1, 2]) };
  checkBatchNormReport(manifest, ok, { maxExamples: 10 });
  assert.throws(() => checkBatchNormReport(manifest, { ...ok, examples: 1e12 }, { maxExamples: 10 }), /1…10 examples, but the report claims 1000000000000/);
  assert.throws(() => checkBatchNormReport(manifest, { ...ok, stats: stats([0, 1], [1, -2]) }, { maxExamples: 10 }), /negative variance/);
  assert.throws(() => checkBatchNormReport(manifest, { ...ok, stats: ok.stats.slice(0, 1) }, { maxExamples: 10 }), /Expected 2 tensors/);
  assert.throws(() => checkBatchNormReport(manifest, { ...ok, stats: stats([NaN, 1], [1, 2]) }, { maxExamples: 10 }), /finite/);
  const renamed = stats([0, 1], [1, 2]);
  renamed[0].name = 'bn/gamma';
  assert.throws(() => checkBatchNormReport(manifest, { ...ok, stats: renamed }, { maxExamples: 10 }), /bn\/moving_mean/);
});
