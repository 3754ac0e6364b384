import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '@fedxray/runtime';
import { buildModel } from '../densenet';
import { HEAD_LAYERS } from '../spec';
import { getNamedWeights } from '../weights';
import { tinySpec, randomImages } from '../test-util';
import { HeadStatsCollector } from './collect';
import { HEAD_OUT_BIAS, HEAD_OUT_KERNEL, calibrateHeadWeights, classGaussian, fitHeadOnStats, virtualFeatures } from './fit';
import { addFeatures, emptyHeadStats, headStatsFromNamed, headStatsToNamed, poolHeadStats, triangleLength } from './stats';

await tf.setBackend('cpu');

/** n rows of F features: class c's rows are N(means[c], diag(sd²)) with a shared correlated part. */
function gaussianRows(n: number, means: number[][], sd: number, seed: number): { x: Float64Array; y: Int32Array } {
  const rand = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const F = means[0].length;
  const x = new Float64Array(n * F);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % means.length;
    y[i] = c;
    const shared = normal();
    for (let a = 0; a < F; a++) x[i * F + a] = means[c][a] + sd * (normal() + 0.5 * shared);
  }
  return { x, y };
}

/** Mean and unbiased covariance of the rows of class c, directly. */
function direct(x: Float64Array, y: Int32Array, F: number, c: number): { mean: number[]; cov: number[][] } {
  const rows = [...y.keys()].filter((i) => y[i] === c);
  const mean = Array.from({ length: F }, (_, a) => rows.reduce((s, i) => s + x[i * F + a], 0) / rows.length);
  const cov = Array.from({ length: F }, (_, a) => Array.from({ length: F }, (_, b) => rows.reduce((s, i) => s + (x[i * F + a] - mean[a]) * (x[i * F + b] - mean[b]), 0) / (rows.length - 1)));
  return { mean, cov };
}

test('pooled reports are the statistics of all their rows together, and give each class the mean and covariance computed directly', () => {
  const F = 5;
  const means = [
    [10, 0, 0, -3, 1],
    [0, 10, 0, 2, -1],
    [0, 0, 10, 0, 0],
  ];
  const a = gaussianRows(90, means, 1, 1);
  const b = gaussianRows(60, means, 2, 2);
  const sa = emptyHeadStats(3, F);
  addFeatures(sa, a.x, a.y);
  const sb = emptyHeadStats(3, F);
  addFeatures(sb, b.x, b.y);
  const pooled = poolHeadStats([sa, sb]);
  const x = new Float64Array([...a.x, ...b.x]);
  const y = new Int32Array([...a.y, ...b.y]);
  const all = emptyHeadStats(3, F);
  addFeatures(all, x, y);
  assert.deepEqual(Array.from(pooled.counts), [50, 50, 50]);
  for (let i = 0; i < pooled.second.length; i++) assert.ok(Math.abs(pooled.second[i] - all.second[i]) <= 1e-9 * Math.abs(all.second[i]) + 1e-9);
  for (let c = 0; c < 3; c++) {
    const want = direct(x, y, F, c);
    const { mean, chol } = classGaussian(pooled, c);
    for (let i = 0; i < F; i++) assert.ok(Math.abs(mean[i] - want.mean[i]) < 1e-9, `class ${c} mean[${i}]`);
    // L Lᵀ is the covariance plus the ridge on the diagonal: 10⁻³ of the mean variance and 10⁻⁶ of the largest E[f²]
    const trace = want.cov.reduce((s, r, i) => s + r[i], 0);
    const rows = [...y.keys()].filter((i) => y[i] === c);
    const meanSquare = Math.max(...Array.from({ length: F }, (_, a) => rows.reduce((s, i) => s + x[i * F + a] ** 2, 0) / rows.length));
    for (let i = 0; i < F; i++) {
      for (let j = 0; j <= i; j++) {
        let llt = 0;
        for (let k = 0; k < F; k++) llt += chol[i * F + k] * chol[j * F + k];
        const expected = want.cov[i][j] + (i === j ? (1e-3 * trace) / F + 1e-6 * meanSquare + 1e-8 : 0);
        assert.ok(Math.abs(llt - expected) < 1e-8 * (1 + Math.abs(expected)), `class ${c} cov[${i}][${j}]: ${llt} vs ${expected}`);
      }
    }
  }
});

test('virtual features have their class mean and variance, and the same seed draws the same ones', () => {
  const F = 4;
  const rows = gaussianRows(400, [[5, -5, 0, 1], [-5, 5, 0, 1]], 2, 3);
  const s = emptyHeadStats(3, F);
  addFeatures(s, rows.x, rows.y);
  const v = virtualFeatures(s, 4000, 7);
  assert.equal(v.y.length, 8000, 'class 2 has no image, so none is drawn of it');
  assert.ok(!v.y.includes(2));
  for (const c of [0, 1]) {
    const want = direct(rows.x, rows.y, F, c);
    const got = direct(v.x, v.y, F, c);
    for (let a = 0; a < F; a++) {
      assert.ok(Math.abs(got.mean[a] - want.mean[a]) < 0.15, `class ${c} mean[${a}] ${got.mean[a]} vs ${want.mean[a]}`);
      assert.ok(Math.abs(got.cov[a][a] / want.cov[a][a] - 1) < 0.1, `class ${c} var[${a}] ${got.cov[a][a]} vs ${want.cov[a][a]}`);
    }
  }
  assert.deepEqual(virtualFeatures(s, 50, 7).x, virtualFeatures(s, 50, 7).x);
  assert.notDeepEqual(virtualFeatures(s, 50, 7).x, virtualFeatures(s, 50, 8).x);
});

/** Accuracy of a last layer (kernel F×C, bias C) on rows. */
function accuracy(kernel: Float32Array, bias: Float32Array, x: Float64Array, y: Int32Array, F: number, C: number): number[] {
  const hits = new Array(C).fill(0);
  const totals = new Array(C).fill(0);
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    let bestLogit = -Infinity;
    for (let c = 0; c < C; c++) {
      let z = bias[c];
      for (let a = 0; a < F; a++) z += x[i * F + a] * kernel[a * C + c];
      if (z > bestLogit) [best, bestLogit] = [c, z];
    }
    totals[y[i]]++;
    if (best === y[i]) hits[y[i]]++;
  }
  return hits.map((h, c) => h / totals[c]);
}

for (const output of ['softmax', 'sigmoid'] as const) {
  test(`a last layer that ranks well but holds one class down recovers its recall after fitting on the pooled statistics (${output})`, () => {
    const F = 6;
    const C = 3;
    const means = [
      [3, 0, 0, 0, 0, 0],
      [0, 3, 0, 0, 0, 0],
      [0, 0, 3, 0, 0, 0],
    ];
    // the averaged layer of a skewed federation: the right directions, class 2's bias far down
    const kernel = new Float32Array(F * C);
    for (let c = 0; c < C; c++) kernel[c * C + c] = 1;
    const bias = new Float32Array([0, 0, -6]);
    const train = gaussianRows(300, means, 1, 4);
    const test = gaussianRows(3000, means, 1, 5);
    const before = accuracy(kernel, bias, test.x, test.y, F, C);
    assert.ok(before[2] < 0.05, `class 2's recall before: ${before[2]}`);
    const s = emptyHeadStats(C, F);
    addFeatures(s, train.x, train.y);
    const k0 = kernel.slice();
    const fitted = fitHeadOnStats(kernel, bias, s, { seed: 1, output, steps: 400, learningRate: 0.01 });
    assert.deepEqual(kernel, k0, 'the given arrays are not changed');
    const after = accuracy(fitted.kernel, fitted.bias, test.x, test.y, F, C);
    // the Bayes rule here classifies about 0.93 of each class correctly
    for (let c = 0; c < C; c++) assert.ok(after[c] > 0.85, `class ${c}'s recall after: ${after[c]} (before ${before[c]})`);
    assert.equal(fitted.samples, 600);
    const again = fitHeadOnStats(kernel, bias, s, { seed: 1, output, steps: 400, learningRate: 0.01 });
    assert.deepEqual([again.kernel, again.bias], [fitted.kernel, fitted.bias], 'the same statistics and seed give the same layer');
  });
}

test('features that barely vary about a large mean, from few images and through float32, still give finite virtual features and a finite layer', () => {
  // the shape of a one-round model's head on a small site: 512 features, 13 images of a class
  const F = 512;
  const rand = mulberry32(9);
  const s = emptyHeadStats(2, F);
  for (const c of [0, 1]) {
    const rows = Float64Array.from({ length: 13 * F }, (_, i) => 40 + (i % F) * 0.1 + 1e-3 * rand());
    addFeatures(s, rows, new Int32Array(13).fill(c));
  }
  // the sums as they travel: float32
  const wire = headStatsFromNamed(headStatsToNamed(s), 2, F, 26);
  const { chol } = classGaussian(wire, 0);
  assert.ok(chol.every(Number.isFinite), 'the factor is finite');
  assert.ok(virtualFeatures(wire, 20, 1).x.every(Number.isFinite));
  const fitted = fitHeadOnStats(new Float32Array(F * 2), new Float32Array(2), wire, { seed: 1, output: 'softmax', steps: 20 });
  assert.ok(fitted.kernel.every(Number.isFinite) && fitted.bias.every(Number.isFinite));
});

test('a report round-trips through named tensors, and a malformed one is refused with what is wrong', () => {
  const F = 3;
  const s = emptyHeadStats(2, F);
  addFeatures(s, [1, 2, 3, 4, 5, 6, -1, 0, 1], [0, 0, 1]);
  const named = headStatsToNamed(s);
  assert.deepEqual(named.map((t) => [t.name, t.shape]), [
    ['head/counts', [2]],
    ['head/sum', [2, 3]],
    ['head/second', [2, triangleLength(F)]],
  ]);
  const back = headStatsFromNamed(named, 2, F, 3);
  assert.deepEqual(Array.from(back.counts), [2, 1]);
  assert.deepEqual(Array.from(back.second.subarray(0, 6)), [1 + 16, 2 + 20, 3 + 24, 4 + 25, 6 + 30, 9 + 36]);
  const edit = (name: string, f: (v: Float32Array) => void) =>
    named.map((t) => {
      if (t.name !== name) return t;
      const values = t.values.slice();
      f(values);
      return { ...t, values };
    });
  assert.throws(() => headStatsFromNamed(named, 2, F, 2), /1\.\.2 images, got 3/);
  assert.throws(() => headStatsFromNamed(named, 3, F, 3), /head\/counts of shape \[3\]/);
  assert.throws(() => headStatsFromNamed(named.slice(1), 2, F, 3), /got 2 tensors/);
  assert.throws(() => headStatsFromNamed(edit('head/sum', (v) => (v[1] = NaN)), 2, F, 3), /head\/sum\[1\] is not finite/);
  assert.throws(() => headStatsFromNamed(edit('head/counts', (v) => (v[0] = 1.5)), 2, F, 3), /whole number of images of class 0/);
  assert.throws(() => headStatsFromNamed(edit('head/counts', (v) => ((v[0] = -1), (v[1] = 4))), 2, F, 3), /whole number of images of class 0, got -1/);
  assert.throws(() => headStatsFromNamed(edit('head/second', (v) => (v[triangleLength(F)] = -1)), 2, F, 3), /Σf² of feature 0 is negative/);
  assert.throws(() => headStatsFromNamed(edit('head/counts', (v) => ((v[1] = 0), (v[0] = 2))), 2, F, 3), /Class 1 has no image but non-zero sums/);
});

test('the collector adds what the last layer reads, per class in the given labels, and calibrating changes only the last layer', () => {
  const spec = tinySpec({ classes: ['a', 'b', 'c'] });
  const model = buildModel(spec);
  const x = randomImages(7, spec.imageSize, spec.channels, 3);
  const labels = [0, 2, 2, 1, 0, 2, 2];
  const collector = new HeadStatsCollector(model, 3, 3);
  collector.add(x, labels);
  assert.equal(collector.examples, 7);
  const F = spec.head.units;
  assert.equal(collector.stats.features, F);
  const upToNorm = tf.model({ inputs: model.inputs, outputs: model.getLayer(HEAD_LAYERS.norm).output as tf.SymbolicTensor });
  const f = (upToNorm.predict(x) as tf.Tensor).arraySync() as number[][];
  assert.deepEqual(Array.from(collector.stats.counts), [2, 1, 4]);
  for (let a = 0; a < F; a++) {
    const want = f[1][a] + f[2][a] + f[5][a] + f[6][a];
    assert.ok(Math.abs(collector.stats.sum[2 * F + a] - want) < 1e-4 * (1 + Math.abs(want)), `Σf of class 2, feature ${a}`);
  }
  const global = getNamedWeights(model);
  const calibrated = calibrateHeadWeights(global, collector.stats, { seed: 3, output: 'softmax', steps: 20 });
  for (let t = 0; t < global.length; t++) {
    const changed = calibrated[t].values !== global[t].values;
    assert.equal(changed, [HEAD_OUT_KERNEL, HEAD_OUT_BIAS].includes(global[t].name), global[t].name);
  }
  assert.throws(() => collector.add(x, [0, 1]), /Expected 7 labels/);
  x.dispose();
  model.dispose();
});
