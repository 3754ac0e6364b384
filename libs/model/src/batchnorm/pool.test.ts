import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolBatchNormStats } from './pool';
import type { BatchNormStatsReport } from './report';

/** A report of one one-channel BatchNorm layer `bn`. */
function report(examples: number, mean: number, variance: number): BatchNormStatsReport {
  return {
    examples,
    stats: [
      { name: 'bn/moving_mean', shape: [1], values: Float32Array.of(mean) },
      { name: 'bn/moving_variance', shape: [1], values: Float32Array.of(variance) },
    ],
  };
}

function pooled(reports: BatchNormStatsReport[], options?: Parameters<typeof poolBatchNormStats>[1]): [number, number] {
  const out = poolBatchNormStats(reports, options);
  return [out[0].values[0], out[1].values[0]];
}

/** Mean and population variance of raw values, in float64. */
function moments(values: number[]): [number, number] {
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return [m, values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length];
}

test('exact pooling gives the mean and variance of all the sites’ values together', () => {
  const a = [1, 2, 3, 10];
  const b = [-4, 0.5];
  const c = [7, 7, 8];
  const reports = [a, b, c].map((v) => report(v.length, ...moments(v)));
  const [mean, variance] = pooled(reports);
  const [m, v] = moments([...a, ...b, ...c]);
  assert.ok(Math.abs(mean - m) <= 1e-6 * Math.abs(m));
  assert.ok(Math.abs(variance - v) <= 1e-6 * v);
});

test('exact pooling stays exact where the mean is large against the spread', () => {
  const a = [1000.001, 1000.002];
  const b = [1000.003, 1000.004, 1000.005];
  const [, variance] = pooled([a, b].map((v) => report(v.length, ...moments(v))));
  const [, v] = moments([...a, ...b]);
  // E[x²] − mean² in float32 would lose every digit here (x² ≈ 1e6, ulp 0.06, variance 2e-6);
  // what remains is the float32 rounding of the sites' means (~3e-5 at 1000)
  assert.ok(Math.abs(variance - v) < 0.1 * v, `${variance} vs ${v}`);
});

test('the median and the trimmed mean resist one site that lies; the exact pooling does not', () => {
  const honest = [report(100, 1, 2), report(100, 1.2, 2.2), report(100, 0.8, 1.8), report(100, 1.1, 2.1)];
  const liar = report(100, 1e6, 1e9);
  const sites = [...honest, liar];
  const [mMedian, vMedian] = pooled(sites, { pooling: 'median' });
  assert.ok(Math.abs(mMedian - 1.1) < 1e-6, `${mMedian}`);
  // each site's second moment about the median centre: vᵢ + (mᵢ − 1.1)²; its median
  assert.ok(Math.abs(vMedian - 2.1) < 1e-6, `${vMedian}`);
  const [mTrim, vTrim] = pooled(sites, { pooling: 'trimmed-mean', trimFraction: 0.2 });
  assert.ok(Math.abs(mTrim - (1 + 1.2 + 1.1) / 3) < 1e-6, `${mTrim}`);
  assert.ok(vTrim > 1.8 && vTrim < 2.3, `${vTrim}`);
  const [mExact] = pooled(sites);
  assert.ok(mExact > 1e5);
});

test('an untrimmed trimmed mean of equally sized sites is the exact pooling', () => {
  const sites = [report(50, 0.5, 1), report(50, -0.25, 3), report(50, 2, 0.5)];
  const [m1, v1] = pooled(sites, { pooling: 'trimmed-mean', trimFraction: 0 });
  const [m2, v2] = pooled(sites);
  assert.ok(Math.abs(m1 - m2) < 1e-6 && Math.abs(v1 - v2) < 1e-6);
});

test('pooling refuses no reports, reports that disagree, a mean without its variance, a bad trim or pooling', () => {
  assert.throws(() => poolBatchNormStats([]), /at least one site/);
  const other = { examples: 3, stats: [{ name: 'bn2/moving_mean', shape: [1], values: Float32Array.of(0) }, report(1, 0, 1).stats[1]] };
  assert.throws(() => poolBatchNormStats([report(1, 0, 1), other]), /Report 2 lacks bn\/moving_mean/);
  const lonely = { examples: 3, stats: [report(1, 0, 1).stats[0]] };
  assert.throws(() => poolBatchNormStats([lonely]), /bn\/moving_mean comes without bn\/moving_variance/);
  assert.throws(() => poolBatchNormStats([report(1, 0, 1)], { pooling: 'trimmed-mean', trimFraction: 0.5 }), /trimFraction in \[0, 0.5\), but got 0.5/);
  assert.throws(() => poolBatchNormStats([report(1, 0, 1)], { pooling: 'mean' as never }), /expected one of exact, median, trimmed-mean/);
});
