import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALIBRATION_SECOND_RANGE, calibrationSumLayout, packCalibration, unpackCalibration } from './calibration-sum';
import { runInMemory } from './harness';
import { seededRandom } from './random';
import { refused, rng } from './testing';

/** One site's per-channel statistics: channel c's activations have scale `scale[c]` and a site-specific offset. */
function site(seed: number, scale: Float64Array, examples: number) {
  const next = rng(seed);
  const mean = Float32Array.from(scale, (s) => s * (next() * 4 - 2));
  const variance = Float32Array.from(scale, (s) => s * s * (0.2 + next()));
  return { mean, variance, examples };
}

/** The exact pooling (poolBatchNormStats' 'exact'), in float64. */
function pooledExactly(sites: { mean: Float32Array; variance: Float32Array; examples: number }[]) {
  const n = sites.reduce((s, x) => s + x.examples, 0);
  const channels = sites[0].mean.length;
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    for (const x of sites) mean[c] += (x.examples * x.mean[c]) / n;
    for (const x of sites) variance[c] += (x.examples * (x.variance[c] + (x.mean[c] - mean[c]) ** 2)) / n;
  }
  return { mean, variance, n };
}

for (const [what, initial] of [
  ['a reference off by up to 4× in variance', false],
  ['the initial reference (mean 0, variance 1: round 1)', true],
] as const)
test(`BatchNorm statistics through a secure sum match the exact pooling, on layers of very different scales, with one dropout: ${what}`, () => {
  const channels = 600;
  // Channels whose activations range from 1e-3 to 1e2, as in a deep network's early and late layers.
  const scale = Float64Array.from({ length: channels }, (_, c) => 10 ** ((c % 6) - 3));
  const sites = [120, 512, 7, 300].map((n, i) => site(i + 1, scale, n));
  const next = rng(99);
  const reference = initial
    ? { mean: new Float32Array(channels), variance: new Float32Array(channels).fill(1) }
    : { mean: Float32Array.from(scale, (s) => s * (next() - 0.5)), variance: Float32Array.from(scale, (s) => s * s * (0.25 + 3.75 * next())) };
  const layout = calibrationSumLayout({ channels, maxExamples: 512, maxSummands: 10 });
  const run = runInMemory({
    config: { session: 'calibrate', participants: [1, 2, 3, 4], threshold: 3, graph: { kind: 'full' }, vectorLength: layout.length },
    input: (p) => packCalibration(layout, reference, sites[p - 1], seededRandom(`calibrate ${p}`)),
    drops: new Map([[3, 'mask']]),
  });
  assert.deepEqual(run.result.survivors, [1, 2, 4]);
  const got = unpackCalibration(layout, reference, run.result.sum, 3);
  const want = pooledExactly([sites[0], sites[1], sites[3]]);
  assert.equal(got.examples, want.n);
  assert.equal(got.clipped, 0);
  let worstMean = 0;
  let worstVar = 0;
  for (let c = 0; c < channels; c++) {
    worstMean = Math.max(worstMean, Math.abs(got.mean[c] - want.mean[c]) / scale[c]);
    worstVar = Math.max(worstVar, Math.abs(got.variance[c] - want.variance[c]) / want.variance[c]);
  }
  // In units of each channel's own scale: the error does not grow with the layer's magnitude.
  assert.ok(worstMean < 1e-6, `mean error ${worstMean} of a channel's scale`);
  assert.ok(worstVar < 1e-4, `relative variance error ${worstVar}`);
});

test('statistics beyond the fixed range are clipped and counted, not wrapped', () => {
  const layout = calibrationSumLayout({ channels: 2, maxExamples: 10, maxSummands: 3 });
  const reference = { mean: [0, 0], variance: [1, 1] };
  const huge = { mean: [0, 0], variance: [4 * CALIBRATION_SECOND_RANGE, 1], examples: 10 };
  const words = packCalibration(layout, reference, huge, seededRandom('clip'));
  const got = unpackCalibration(layout, reference, words, 1);
  assert.equal(got.clipped, 1);
  assert.ok(Math.abs(got.variance[0] / CALIBRATION_SECOND_RANGE - 1) < 1e-9, `clipped to the range, got ${got.variance[0]}`);
  assert.ok(Math.abs(got.variance[1] - 1) < 1e-4);
});

test('a report of the wrong size, a bad image count or a negative variance is refused before anything is packed', () => {
  const layout = calibrationSumLayout({ channels: 2, maxExamples: 10, maxSummands: 3 });
  const reference = { mean: [0, 0], variance: [1, 1] };
  const random = seededRandom('refuse');
  refused(() => packCalibration(layout, reference, { mean: [0], variance: [1], examples: 1 }, random), 'wrong_length');
  refused(() => packCalibration(layout, reference, { mean: [0, 0], variance: [1, 1], examples: 11 }, random), 'bad_config', /1\.\.10/);
  refused(() => packCalibration(layout, reference, { mean: [0, 0], variance: [1, -1], examples: 3 }, random), 'not_finite', /variance ≥ 0/);
  refused(() => packCalibration(layout, reference, { mean: [NaN, 0], variance: [1, 1], examples: 3 }, random), 'not_finite');
  refused(() => unpackCalibration(layout, reference, new Uint32Array(layout.length), 1), 'bad_config', /count is 0/);
});
