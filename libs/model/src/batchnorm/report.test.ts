import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelError } from '../errors';
import { applyBatchNormStats, batchNormStatNames, checkBatchNormReport, type BatchNormStatsReport } from './report';

const manifest = [
  { name: 'conv/kernel', shape: [3, 3, 1, 2] },
  { name: 'bn/gamma', shape: [2] },
  { name: 'bn/beta', shape: [2] },
  { name: 'bn/moving_mean', shape: [2] },
  { name: 'bn/moving_variance', shape: [2] },
];

function good(): BatchNormStatsReport {
  return {
    examples: 10,
    stats: [
      { name: 'bn/moving_mean', shape: [2], values: Float32Array.of(0.5, -1) },
      { name: 'bn/moving_variance', shape: [2], values: Float32Array.of(1, 0) },
    ],
  };
}

function codeOf(f: () => void): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof ModelError, String(err));
    return err.code;
  }
  return 'accepted';
}

test('batchNormStatNames lists the moving statistics in manifest order', () => {
  assert.deepEqual(batchNormStatNames(manifest), ['bn/moving_mean', 'bn/moving_variance']);
});

test('checkBatchNormReport accepts a report that fits and refuses each way one does not, with a code', () => {
  const limits = { maxExamples: 10 };
  const check = (r: BatchNormStatsReport) => codeOf(() => checkBatchNormReport(manifest, r, limits));
  assert.equal(check(good()), 'accepted');
  assert.equal(check({ ...good(), examples: 0 }), 'bad_examples');
  assert.equal(check({ ...good(), examples: 11 }), 'bad_examples');
  assert.equal(check({ ...good(), examples: 2.5 }), 'bad_examples');
  assert.equal(check({ ...good(), stats: good().stats.slice(0, 1) }), 'missing_stat');
  assert.equal(check({ ...good(), stats: [...good().stats, { name: 'bn/gamma', shape: [2], values: Float32Array.of(1, 1) }] }), 'unknown_stat');
  assert.equal(check({ ...good(), stats: [...good().stats, good().stats[0]] }), 'unknown_stat');
  assert.equal(check({ ...good(), stats: [{ name: 'bn/moving_mean', shape: [3], values: Float32Array.of(0, 0, 0) }, good().stats[1]] }), 'shape_mismatch');
  assert.equal(check({ ...good(), stats: [{ name: 'bn/moving_mean', shape: [2], values: Float32Array.of(0) }, good().stats[1]] }), 'shape_mismatch');
  assert.equal(check({ ...good(), stats: [{ name: 'bn/moving_mean', shape: [2], values: Float32Array.of(0, NaN) }, good().stats[1]] }), 'not_finite');
  assert.equal(check({ ...good(), stats: [good().stats[0], { name: 'bn/moving_variance', shape: [2], values: Float32Array.of(1, -1e-9) }] }), 'negative_variance');
});

test('applyBatchNormStats replaces the statistics in a copy and refuses names or shapes the weights lack', () => {
  const weights = manifest.map((m) => ({ ...m, values: new Float32Array(m.shape.reduce((a, b) => a * b, 1)) }));
  const out = applyBatchNormStats(weights, good().stats);
  assert.deepEqual(out.find((w) => w.name === 'bn/moving_mean')!.values, Float32Array.of(0.5, -1));
  assert.deepEqual(weights.find((w) => w.name === 'bn/moving_mean')!.values, new Float32Array(2), 'the input is unchanged');
  assert.equal(out.find((w) => w.name === 'conv/kernel'), weights[0]);
  assert.equal(codeOf(() => applyBatchNormStats(weights, [{ name: 'x/moving_mean', shape: [2], values: new Float32Array(2) }])), 'unknown_stat');
  assert.equal(codeOf(() => applyBatchNormStats(weights, [{ name: 'bn/moving_mean', shape: [1], values: new Float32Array(1) }])), 'shape_mismatch');
});
