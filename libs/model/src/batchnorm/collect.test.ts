import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { buildModel, setBackboneTrainable } from '../densenet';
import { getNamedWeights } from '../weights';
import { tinySpec } from '../test-util';
import { BatchNormStatsCollector } from './collect';
import { poolBatchNormStats } from './pool';
import { batchNormStatNames } from './report';

await tf.setBackend('cpu');

const SIZE = 32;
/** Keras' momentum, under which the old moving-average calibration barely moved the statistics. */
const spec = tinySpec({ batchNormMomentum: 0.99 });

/** A site's images: its own brightness and contrast, so sites' statistics differ (non-IID). */
function siteBatches(site: number, sizes: number[]): tf.Tensor4D[] {
  return sizes.map((n, b) =>
    tf.tidy(() => tf.add(tf.mul(tf.randomUniform([n, SIZE, SIZE, 1], 0, 1, 'float32', 100 * site + b), 0.3 + 0.4 * site), 0.2 * site)) as tf.Tensor4D,
  );
}

/** |a − b| ≤ rel·|b| (+ 1e-12) for every value; returns the largest relative difference. */
function assertClose(a: NamedWeights, b: NamedWeights, rel: number): void {
  const byName = new Map(b.map((t) => [t.name, t.values]));
  for (const t of a) {
    const want = byName.get(t.name)!;
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(t.values[i] - want[i]) <= rel * Math.abs(want[i]) + 1e-12, `${t.name}[${i}]: ${t.values[i]} vs ${want[i]}`);
    }
  }
}

function statsOf(weights: NamedWeights): NamedWeights {
  const names = new Set(batchNormStatNames(weights));
  return weights.filter((w) => names.has(w.name));
}

/** Median over layers and channels of |a − b| / |b|. */
function medianRelativeDifference(a: NamedWeights, b: NamedWeights): number {
  const byName = new Map(b.map((t) => [t.name, t.values]));
  const rel: number[] = [];
  for (const t of a) {
    const want = byName.get(t.name)!;
    for (let i = 0; i < want.length; i++) rel.push(Math.abs(t.values[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-6));
  }
  rel.sort((x, y) => x - y);
  return rel[Math.floor(rel.length / 2)];
}

test('momentum 0.99: statistics collected at 3 sites and pooled exactly equal one pass over all their images (same batches); the old moving-average drift does not', () => {
  // Prepare: 3 sites with different data and uneven batch sizes
  const model = buildModel(spec, { seed: 11 });
  const sites = [siteBatches(0, [4, 4, 3]), siteBatches(1, [4, 2]), siteBatches(2, [4, 4, 4, 1])];
  const start = tf.memory().numTensors;
  // Execute: each site collects its own report; one collector sees every batch
  const reports = sites.map((batches) => {
    const c = new BatchNormStatsCollector(model, { batchSize: 4 });
    for (const x of batches) c.add(x);
    return c.report();
  });
  const pooled = poolBatchNormStats(reports);
  const all = new BatchNormStatsCollector(model, { batchSize: 4 });
  for (const x of sites.flat()) all.add(x);
  const together = all.report();
  // Assert
  assert.deepEqual(
    reports.map((r) => r.examples),
    [11, 6, 13],
  );
  assert.equal(together.examples, 30);
  assert.equal(tf.memory().numTensors, start, 'collecting leaks no tensors');
  assert.deepEqual(
    pooled.map((t) => t.name),
    together.stats.map((t) => t.name),
  );
  assertClose(pooled, together.stats, 1e-4);
  // The old calibration: training-mode forward passes over the same batches, each layer's moving average drifting by 1%.
  const initial = getNamedWeights(model);
  for (const x of sites.flat()) tf.tidy(() => void model.apply(x, { training: true }));
  const drifted = statsOf(getNamedWeights(model));
  const driftError = medianRelativeDifference(drifted, together.stats);
  assert.ok(driftError > 0.5, `the moving averages stayed ${driftError} (relative) from the statistics of the data`);
  assert.ok(medianRelativeDifference(statsOf(initial), together.stats) > 0.5, 'the data’s statistics are far from the initial ones');
  tf.dispose(sites.flat());
  model.dispose();
});

test('the first BatchNorm layer reports the mean and population variance of its input over every position of every image', () => {
  const model = buildModel(spec, { seed: 12 });
  const batches = siteBatches(1, [3, 3, 2]);
  const c = new BatchNormStatsCollector(model, { batchSize: 3 });
  for (const x of batches) c.add(x);
  const report = c.report();
  // Reference: conv1/conv's output over all 8 images at once, reduced in float64.
  const stem = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv1/conv').output as tf.SymbolicTensor });
  const out = tf.tidy(() => stem.predict(tf.concat(batches, 0)) as tf.Tensor);
  const values = out.dataSync();
  const channels = out.shape[3]!;
  const sum = new Float64Array(channels);
  const sq = new Float64Array(channels);
  for (let i = 0; i < values.length; i++) {
    sum[i % channels] += values[i];
    sq[i % channels] += values[i] * values[i];
  }
  const positions = values.length / channels;
  const mean = Float32Array.from(sum, (s) => s / positions);
  const variance = Float32Array.from(sq, (s, k) => s / positions - mean[k] ** 2);
  assertClose(
    report.stats.filter((t) => t.name.startsWith('conv1/bn/')),
    [
      { name: 'conv1/bn/moving_mean', shape: [channels], values: mean },
      { name: 'conv1/bn/moving_variance', shape: [channels], values: variance },
    ],
    1e-4,
  );
  tf.dispose([out, ...batches]);
  model.dispose();
});

test('collecting changes no weight; a frozen backbone reports its own statistics unchanged and the head its data’s', () => {
  const model = buildModel(spec, { seed: 13 });
  setBackboneTrainable(model, false);
  const before = getNamedWeights(model);
  const x = siteBatches(2, [5])[0];
  const c = new BatchNormStatsCollector(model);
  c.add(x);
  const report = c.report();
  const after = getNamedWeights(model);
  assert.deepEqual(after, before, 'no weight moved');
  const byName = new Map(before.map((w) => [w.name, w.values]));
  for (const t of report.stats) {
    const same = t.values.every((v, i) => v === byName.get(t.name)![i]);
    assert.equal(same, !t.name.startsWith('batch_normalization/'), t.name);
  }
  x.dispose();
  model.dispose();
});

test('a collector refuses a bad batch size and a report over no image', () => {
  const model = buildModel(spec, { seed: 14 });
  assert.throws(() => new BatchNormStatsCollector(model, { batchSize: 0 }), /positive integer, but got 0/);
  assert.throws(() => new BatchNormStatsCollector(model).report(), /No images were added/);
  model.dispose();
});
