import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HEAD_SCALE_FLOOR, HEAD_SECOND_RANGE, HEAD_SHIFT_RANGE, headSumLayout, packHeadStats, unpackHeadStats, type HeadReference, type HeadStats } from './head-sum';
import { SumLayout } from './layout';
import { seededRandom } from './random';
import { refused, rng } from './testing';

const C = 3;
const F = 16;
const T = (F * (F + 1)) / 2;

/** One hospital's images: feature a of class c is mean[a] + scale[a]·(offset of c + correlated noise). */
function images(seed: number, counts: number[], mean: Float64Array, scale: Float64Array): Float64Array[][] {
  const next = rng(seed);
  const noise = () => next() + next() + next() - 1.5;
  return counts.map((n, c) => {
    const offset = Float64Array.from({ length: F }, (_, a) => Math.sin(3 * c + a) * 2 + (seed % 3) * 0.3);
    return Array.from({ length: n }, () => {
      const z = Float64Array.from({ length: F }, noise);
      return Float64Array.from(z, (zi, a) => mean[a] + scale[a] * (offset[a] + zi + 0.6 * z[(a + 1) % F]));
    });
  });
}

/** A hospital's HeadStats, accumulated in float64. */
function statsOf(byClass: Float64Array[][]): HeadStats & { sum: Float64Array; second: Float64Array } {
  const sum = new Float64Array(C * F);
  const second = new Float64Array(C * T);
  byClass.forEach((imgs, c) => {
    for (const f of imgs) {
      let k = c * T;
      for (let a = 0; a < F; a++) {
        sum[c * F + a] += f[a];
        for (let b = a; b < F; b++, k++) second[k] += f[a] * f[b];
      }
    }
  });
  return { counts: byClass.map((imgs) => imgs.length), sum, second };
}

/** What adding the hospitals' HeadStats directly gives. */
function added(stats: HeadStats[]) {
  const counts = new Float64Array(C);
  const sum = new Float64Array(C * F);
  const second = new Float64Array(C * T);
  for (const s of stats) {
    for (let i = 0; i < C; i++) counts[i] += s.counts[i];
    for (let i = 0; i < sum.length; i++) sum[i] += s.sum[i];
    for (let i = 0; i < second.length; i++) second[i] += s.second[i];
  }
  return { counts, sum, second };
}

function addWords(vectors: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(vectors[0].length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i] = (out[i] + v[i]) >>> 0;
  return out;
}

/** Per-feature scales from 1e-2 to 1e2, centers `offset` scales from 0 with alternating sign, and a reference near them. */
function population(offset: number) {
  const next = rng(7);
  const scale = Float64Array.from({ length: F }, (_, a) => 10 ** (-2 + (4 * a) / (F - 1)));
  const mean = Float64Array.from(scale, (s, a) => (a % 2 ? -1 : 1) * s * offset * (1 + next()));
  const center = Float64Array.from(mean, (m, a) => m + scale[a] * (next() * 4 - 2));
  const refScale = Float64Array.from(scale, (s) => s * (0.5 + next()));
  refScale[1] = 1e-6; // a BatchNorm γ of ~0: floored
  refScale[2] = -refScale[2]; // a negative γ: its magnitude
  return { scale, mean, reference: { center, scale: refScale } satisfies HeadReference };
}

const COUNTS = [
  [30, 20, 25],
  [10, 40, 15],
  [50, 0, 12], // no image of class 1
];

test('three hospitals through a secure sum pool to the direct sum of their statistics, within the grid bound of each feature scale', () => {
  const { scale, mean, reference } = population(50);
  const layout = headSumLayout({ classes: C, features: F, maxExamples: 200, maxSummands: 10 });
  const W = 200;
  const stats = COUNTS.map((counts, h) => statsOf(images(h + 1, counts, mean, scale)));
  // The second hospital packs with the layout as it arrives from the coordinator.
  const wire = SumLayout.fromWire(JSON.parse(JSON.stringify(layout.toWire())));
  const words = stats.map((s, h) => packHeadStats(h === 1 ? wire : layout, reference, s, seededRandom(`head ${h}`)));
  const got = unpackHeadStats(layout, reference, addWords(words), 3);
  const want = added(stats);
  assert.deepEqual([...got.counts], [...want.counts]);
  assert.equal(got.clipped, 0);
  // Two-word grid: |ΔD| < W·εD, |ΔQ| < W·εQ in reference scales (εD = 3·R/M², M = ⌊(2³¹ − 1)/10⌋).
  const eD = W * layout.errorBound('sumRest', 3);
  const eQ = W * layout.errorBound('secondRest', 3);
  assert.ok(eD < 2e-11 && eQ < 2e-8, `grid bounds ${eD}, ${eQ}`);
  const s = Float64Array.from(reference.scale, (x) => Math.max(Math.abs(x), HEAD_SCALE_FLOOR));
  const c = reference.center;
  const round = 1e-14; // float64 rounding of the transforms, relative to the magnitudes involved
  let worst = 0;
  for (let k = 0; k < C; k++) {
    const N = want.counts[k];
    const Fk = (a: number) => want.sum[k * F + a];
    for (let a = 0; a < F; a++) {
      const bound = s[a] * eD + round * (Math.abs(Fk(a)) + N * Math.abs(c[a]));
      worst = Math.max(worst, Math.abs(got.sum[k * F + a] - Fk(a)) / bound);
    }
    let i = k * T;
    for (let a = 0; a < F; a++) {
      for (let b = a; b < F; b++, i++) {
        const magnitude = Math.abs(want.second[i]) + Math.abs(c[a] * Fk(b)) + Math.abs(c[b] * Fk(a)) + N * Math.abs(c[a] * c[b]);
        const bound = s[a] * s[b] * eQ + (Math.abs(c[a]) * s[b] + Math.abs(c[b]) * s[a]) * eD + round * magnitude;
        worst = Math.max(worst, Math.abs(got.second[i] - want.second[i]) / bound);
      }
    }
  }
  assert.ok(worst <= 1, `worst error ${worst} of its bound`);
});

/** Per class, the unbiased covariance (upper triangle) from HeadStats-like sums. */
function covarianceFromSums(counts: ArrayLike<number>, sum: ArrayLike<number>, second: ArrayLike<number>): Float64Array {
  const out = new Float64Array(C * T);
  for (let k = 0, i = 0; k < C; k++) {
    const n = counts[k];
    for (let a = 0; a < F; a++) for (let b = a; b < F; b++, i++) out[i] = (second[i] - (sum[k * F + a] * sum[k * F + b]) / n) / (n - 1);
  }
  return out;
}

/** Per class, the unbiased covariance computed directly (two passes) over the images. */
function covarianceDirect(byClass: Float64Array[][]): Float64Array {
  const out = new Float64Array(C * T);
  for (let k = 0, i = 0; k < C; k++) {
    const imgs = byClass[k];
    const m = new Float64Array(F);
    for (const f of imgs) for (let a = 0; a < F; a++) m[a] += f[a] / imgs.length;
    for (let a = 0; a < F; a++) {
      for (let b = a; b < F; b++, i++) {
        for (const f of imgs) out[i] += (f[a] - m[a]) * (f[b] - m[b]);
        out[i] /= imgs.length - 1;
      }
    }
  }
  return out;
}

test('the covariance from the pooled statistics matches the direct covariance when the centers lie 10³ scales from 0', () => {
  const { scale, mean, reference } = population(1000);
  const layout = headSumLayout({ classes: C, features: F, maxExamples: 200, maxSummands: 10 });
  const hospitals = COUNTS.map((counts, h) => images(h + 11, counts, mean, scale));
  const words = hospitals.map((imgs, h) => packHeadStats(layout, reference, statsOf(imgs), seededRandom(`cov ${h}`)));
  const got = unpackHeadStats(layout, reference, addWords(words), 3);
  assert.equal(got.clipped, 0);
  const cov = covarianceFromSums(got.counts, got.sum, got.second);
  const pooledImages = Array.from({ length: C }, (_, k) => hospitals.flatMap((h) => h[k]));
  const want = covarianceDirect(pooledImages);
  let worst = 0;
  for (let k = 0, i = 0; k < C; k++) {
    const diag = (a: number) => want[k * T + a * F - (a * (a - 1)) / 2];
    for (let a = 0; a < F; a++) {
      for (let b = a; b < F; b++, i++) worst = Math.max(worst, Math.abs(cov[i] - want[i]) / Math.sqrt(diag(a) * diag(b)));
    }
  }
  assert.ok(worst < 1e-7, `worst covariance error ${worst} (relative to √(var_a var_b))`);
});

test('statistics beyond the fixed range are clipped to it and counted, not wrapped', () => {
  const layout = headSumLayout({ classes: 1, features: 2, maxExamples: 1, maxSummands: 3 });
  const reference = { center: [0, 0], scale: [1, 1] };
  const f = [2 * HEAD_SHIFT_RANGE, -3 * HEAD_SHIFT_RANGE];
  const stats = { counts: [1], sum: f, second: [f[0] * f[0], f[0] * f[1], f[1] * f[1]] };
  const got = unpackHeadStats(layout, reference, packHeadStats(layout, reference, stats, seededRandom('clip')), 1);
  assert.equal(got.clipped, 5);
  const close = (x: number, y: number) => assert.ok(Math.abs(x / y - 1) < 1e-9, `${x} vs ${y}`);
  close(got.sum[0], HEAD_SHIFT_RANGE);
  close(got.sum[1], -HEAD_SHIFT_RANGE);
  close(got.second[0], HEAD_SECOND_RANGE);
  close(got.second[1], -HEAD_SECOND_RANGE);
  close(got.second[2], HEAD_SECOND_RANGE);
  const fits = { counts: [1], sum: [3, -1], second: [9, -3, 1] };
  const ok = unpackHeadStats(layout, reference, packHeadStats(layout, reference, fits, seededRandom('fit')), 1);
  assert.equal(ok.clipped, 0);
  [3, -1].forEach((v, i) => close(ok.sum[i], v));
  [9, -3, 1].forEach((v, i) => close(ok.second[i], v));
});

test('wrong lengths, non-finite values, bad image counts and bad layouts are refused', () => {
  const layout = headSumLayout({ classes: 2, features: 2, maxExamples: 10, maxSummands: 3 });
  const reference = { center: [0, 0], scale: [1, 1] };
  const good = { counts: [2, 1], sum: [1, 2, 3, 4], second: [1, 2, 3, 4, 5, 6] };
  const random = seededRandom('refuse');
  const pack = (stats: Partial<HeadStats>, ref: HeadReference = reference) => () => packHeadStats(layout, ref, { ...good, ...stats }, random);
  assert.equal(pack({})().length, layout.length);
  refused(pack({ counts: [3] }), 'wrong_length');
  refused(pack({ sum: [1, 2, 3] }), 'wrong_length');
  refused(pack({ second: [1, 2, 3, 4, 5] }), 'wrong_length');
  refused(pack({}, { center: [0], scale: [1, 1] }), 'wrong_length');
  refused(pack({ sum: [1, NaN, 3, 4] }), 'not_finite');
  refused(pack({ second: [1, 2, 3, 4, 5, Infinity] }), 'not_finite');
  refused(pack({}, { center: [0, NaN], scale: [1, 1] }), 'not_finite');
  refused(pack({}, { center: [0, 0], scale: [1, Infinity] }), 'not_finite');
  refused(pack({ second: [1e308, 2, 3, 4, 5, 6] }, { center: [0, 0], scale: [1e-9, 1] }), 'not_finite', /overflow/);
  refused(pack({ counts: [1.5, 1] }), 'bad_config', /whole/);
  refused(pack({ counts: [-1, 3] }), 'bad_config', /whole/);
  refused(pack({ counts: [0, 0] }), 'bad_config', /1\.\.10/);
  refused(pack({ counts: [6, 5] }), 'bad_config', /1\.\.10/);
  refused(() => unpackHeadStats(layout, reference, new Uint32Array(layout.length), 1), 'bad_config', /count is 0/);
  refused(() => unpackHeadStats(layout, reference, new Uint32Array(layout.length - 1), 1), 'wrong_length');
  refused(() => unpackHeadStats(layout, reference, pack({})(), 4), 'bad_config');
  refused(() => headSumLayout({ classes: 0, features: 2, maxExamples: 10, maxSummands: 3 }), 'bad_config');
  refused(() => headSumLayout({ classes: 2, features: 2.5, maxExamples: 10, maxSummands: 3 }), 'bad_config');
  refused(() => headSumLayout({ classes: 2, features: 2, maxExamples: 0, maxSummands: 3 }), 'bad_config');
});
