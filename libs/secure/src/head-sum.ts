// Class-conditional feature statistics as one secure sum: per class c, the
// image count n_c, Σf and Σ f fᵀ (upper triangle) of the F head features f
// of its images. Pooling hospitals' statistics needs only their sums. To keep
// fixed point precise whatever the features' scale and offset, each hospital
// sends them relative to a reference every participant holds (the head
// BatchNorm's β as center c and |γ| as scale s, s floored at HEAD_SCALE_FLOOR):
//   dᵢ = (fᵢ − c)/s   (elementwise),   D = Σdᵢ,   Q_ab = Σ dᵢa dᵢb  (a ≤ b)
// computed in float64 from the hospital's own sums, without its features:
//   D_a = (Σf_a − n c_a)/s_a,  Q_ab = (Σf_a f_b − c_a Σf_b − c_b Σf_a + n c_a c_b)/(s_a s_b)
// and divided by W = maxExamples (the counts segment's max) before encoding.
// Ranges: D/W in ±HEAD_SHIFT_RANGE and Q/W in ±HEAD_SECOND_RANGE, which every
// class's sums fit as long as each image lies within HEAD_SHIFT_RANGE = 2¹⁰
// reference scales of the center in every feature (n_c ≤ W). A value beyond is
// clipped to its range and counted in `clipped`. The pooled sums go back to
// the features' own units: Σf_a = s_a D_a + N c_a and
//   Σf_a f_b = s_a s_b Q_ab + c_a Σf_b + c_b Σf_a − N c_a c_b.
// Precision. Each real goes in two words (calibration-sum's encodeTwoWords):
// its coarse part on a grid of step R/M, M = ⌊(2³¹ − 1)/maxSummands⌋, and the
// remainder, stochastically rounded (unbiased), on a grid of step R/M². For a
// sum of n hospitals, in units of the reference scales:
//   |ΔD_a| < εD = n·W·HEAD_SHIFT_RANGE/M²,   |ΔQ_ab| < εQ = n·W·HEAD_SECOND_RANGE/M²
// (maxSummands 10, W = 10⁴, n = 10: εD = 2.2e−9, εQ = 2.3e−6, absolute,
// however large the sums). In the features' units |ΔΣf_a| < s_a εD and
// |ΔΣf_a f_b| < s_a s_b εQ + (|c_a| s_b + |c_b| s_a) εD; the terms in c cancel
// when a covariance is formed about the pooled mean, leaving ≈ s_a s_b εQ/(N − 1).
// Beyond that only float64 rounding, ~2⁻⁵² N (|c| + |f|)²: hospitals should
// accumulate their sums in float64, not float32.
import { decodeTwoWords, encodeTwoWords } from './calibration-sum';
import { SecureError } from './errors';
import { FixedPoint } from './fixed-point';
import { SumLayout, maxCount } from './layout';
import type { RandomSource } from './random';

/** An image may lie this many reference scales from the reference center in each feature (beyond: clipped, and counted). */
export const HEAD_SHIFT_RANGE = 2 ** 10;
/** Q/W's range: the square of HEAD_SHIFT_RANGE. */
export const HEAD_SECOND_RANGE = HEAD_SHIFT_RANGE ** 2;
/** Reference scales below this (in magnitude) are raised to it: a feature whose BatchNorm γ is ~0. */
export const HEAD_SCALE_FLOOR = 1e-3;

/** One hospital's class-conditional feature statistics. */
export interface HeadStats {
  /** Images per class, length C. */
  counts: ArrayLike<number>;
  /** Σ f over each class's images: C×F, class-major. */
  sum: ArrayLike<number>;
  /** Σ f fᵀ over each class's images, upper triangle (a ≤ b) row-major per class: C×F(F+1)/2. */
  second: ArrayLike<number>;
}

/** What every participant holds: per feature a center and a scale (|scale| floored at HEAD_SCALE_FLOOR), length F each. */
export interface HeadReference {
  center: ArrayLike<number>;
  scale: ArrayLike<number>;
}

export interface HeadSumOptions {
  /** C, classes. */
  classes: number;
  /** F, features per image. */
  features: number;
  /** W, most images one hospital may report (over all classes). */
  maxExamples: number;
  /** Most hospitals in one sum. */
  maxSummands: number;
}

/** The pooled statistics: what adding the hospitals' HeadStats directly gives, and how many values were clipped. */
export type PooledHeadStats = HeadStats & {
  counts: Float64Array;
  sum: Float64Array;
  second: Float64Array;
  /** Values clipped by the hospitals (0 when every statistic fitted its range). */
  clipped: number;
};

function wholeAtLeastOne(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new SecureError('bad_config', `Expected ${what}, a whole number ≥ 1, got ${v}`);
}

/** [sum, its remainder | second, its remainder (reals) | counts (C counts) | clipped (count)]. */
export function headSumLayout(o: HeadSumOptions): SumLayout {
  wholeAtLeastOne('classes', o.classes);
  wholeAtLeastOne('features', o.features);
  wholeAtLeastOne('maxExamples', o.maxExamples);
  wholeAtLeastOne('maxSummands', o.maxSummands);
  const sums = o.classes * o.features;
  const seconds = (o.classes * o.features * (o.features + 1)) / 2;
  const cap = maxCount(o.maxSummands);
  return new SumLayout(
    [
      { name: 'sum', kind: 'real', length: sums, range: HEAD_SHIFT_RANGE },
      { name: 'sumRest', kind: 'real', length: sums, range: stepOf(HEAD_SHIFT_RANGE, o.maxSummands) },
      { name: 'second', kind: 'real', length: seconds, range: HEAD_SECOND_RANGE },
      { name: 'secondRest', kind: 'real', length: seconds, range: stepOf(HEAD_SECOND_RANGE, o.maxSummands) },
      { name: 'counts', kind: 'count', length: o.classes, max: Math.min(cap, o.maxExamples) },
      { name: 'clipped', kind: 'count', length: 1, max: Math.min(cap, sums + seconds) },
    ],
    o.maxSummands,
  );
}

/** The grid step of a real segment of this range (FixedPoint's quantum). */
function stepOf(range: number, maxSummands: number): number {
  return new FixedPoint({ range, maxSummands }).quantum;
}

/** C, F and W of a head-sum layout. */
function shape(layout: SumLayout): { classes: number; features: number; maxExamples: number } {
  const classes = layout.spec('counts').length;
  const features = layout.spec('sum').length / classes;
  const spec = layout.spec('counts');
  const maxExamples = spec.kind === 'count' ? spec.max : 0;
  if (!Number.isInteger(features) || layout.spec('second').length !== (classes * features * (features + 1)) / 2 || maxExamples < 1) {
    throw new SecureError('bad_config', 'Not a head-sum layout: its sum, second and counts segments do not agree');
  }
  return { classes, features, maxExamples };
}

/** The reference's centers and floored scales, checked. */
function referenceOf(reference: HeadReference, features: number): { center: Float64Array; scale: Float64Array } {
  if (reference.center.length !== features || reference.scale.length !== features) {
    throw new SecureError('wrong_length', `Expected a reference of ${features} features, got ${reference.center.length} centers and ${reference.scale.length} scales`);
  }
  const center = Float64Array.from(reference.center);
  const scale = Float64Array.from(reference.scale, (s) => Math.max(Math.abs(s), HEAD_SCALE_FLOOR));
  for (let a = 0; a < features; a++) {
    if (!Number.isFinite(center[a]) || !Number.isFinite(reference.scale[a])) {
      throw new SecureError('not_finite', `The reference of feature ${a} is not finite (center ${center[a]}, scale ${reference.scale[a]})`);
    }
  }
  return { center, scale };
}

function checkFinite(what: string, values: ArrayLike<number>, expected: number): void {
  if (values.length !== expected) throw new SecureError('wrong_length', `Expected ${expected} values in ${what}, got ${values.length}`);
  for (let i = 0; i < expected; i++) {
    if (!Number.isFinite(values[i])) throw new SecureError('not_finite', `Expected finite values in ${what}, got ${values[i]} at ${i}`);
  }
}

/** One hospital's word vector: D/W and Q/W about the reference, the counts, and how many values were clipped. */
export function packHeadStats(layout: SumLayout, reference: HeadReference, stats: HeadStats, random: RandomSource): Uint32Array {
  const { classes, features: f, maxExamples } = shape(layout);
  const { center, scale } = referenceOf(reference, f);
  const t = (f * (f + 1)) / 2;
  if (stats.counts.length !== classes) throw new SecureError('wrong_length', `Expected image counts of ${classes} classes, got ${stats.counts.length}`);
  let total = 0;
  for (let c = 0; c < classes; c++) {
    const n = stats.counts[c];
    if (!Number.isInteger(n) || n < 0) throw new SecureError('bad_config', `Expected whole image counts ≥ 0, got ${n} for class ${c}`);
    total += n;
  }
  if (total < 1 || total > maxExamples) throw new SecureError('bad_config', `Expected statistics over 1..${maxExamples} images, got ${total}`);
  checkFinite('sum', stats.sum, classes * f);
  checkFinite('second', stats.second, classes * t);
  const shift = new Float64Array(classes * f);
  const second = new Float64Array(classes * t);
  for (let c = 0; c < classes; c++) {
    const n = stats.counts[c];
    const s1 = c * f;
    for (let a = 0; a < f; a++) shift[s1 + a] = (stats.sum[s1 + a] - n * center[a]) / scale[a];
    let k = c * t;
    for (let a = 0; a < f; a++) {
      const ca = center[a];
      const sa = stats.sum[s1 + a];
      for (let b = a; b < f; b++, k++) {
        const cb = center[b];
        second[k] = (stats.second[k] - ca * stats.sum[s1 + b] - cb * sa + n * ca * cb) / (scale[a] * scale[b]);
      }
    }
  }
  for (const [what, v] of [['sum', shift], ['second', second]] as const) {
    const i = v.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) throw new SecureError('not_finite', `The ${what} statistics overflow float64 about the reference (at ${i})`);
  }
  const out = new Uint32Array(layout.length);
  const share = 1 / maxExamples;
  const clipped = encodeTwoWords(layout, 'sum', shift, share, out, random) + encodeTwoWords(layout, 'second', second, share, out, random);
  const counts = layout.offset('counts');
  for (let c = 0; c < classes; c++) out[counts + c] = stats.counts[c];
  const spec = layout.spec('clipped');
  out[layout.offset('clipped')] = Math.min(clipped, spec.kind === 'count' ? spec.max : 0);
  return out;
}

/** Unpacks the sum of `summands` hospitals' vectors into their pooled statistics, in the features' own units. */
export function unpackHeadStats(layout: SumLayout, reference: HeadReference, sum: Uint32Array, summands: number): PooledHeadStats {
  const { classes, features: f, maxExamples } = shape(layout);
  const { center, scale } = referenceOf(reference, f);
  const t = (f * (f + 1)) / 2;
  const parts = layout.unpack(sum, summands);
  const counts = parts.counts;
  if (counts.reduce((s, n) => s + n, 0) === 0) throw new SecureError('bad_config', 'The summed image count is 0: no hospital reported any image');
  const pooled = decodeTwoWords(parts, 'sum');
  const second = decodeTwoWords(parts, 'second');
  for (let c = 0; c < classes; c++) {
    const n = counts[c];
    const s1 = c * f;
    for (let a = 0; a < f; a++) pooled[s1 + a] = scale[a] * pooled[s1 + a] * maxExamples + n * center[a];
    let k = c * t;
    for (let a = 0; a < f; a++) {
      const ca = center[a];
      const fa = pooled[s1 + a];
      for (let b = a; b < f; b++, k++) {
        const cb = center[b];
        second[k] = scale[a] * scale[b] * second[k] * maxExamples + ca * pooled[s1 + b] + cb * fa - n * ca * cb;
      }
    }
  }
  return { counts, sum: pooled, second, clipped: parts.clipped[0] };
}
