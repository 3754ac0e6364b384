// BatchNorm calibration statistics as one secure sum. Pooling the hospitals'
// statistics exactly needs only sums: Σnᵢ, Σnᵢ·mᵢ and Σnᵢ·(vᵢ + mᵢ²). To keep
// fixed point precise whatever the scale of a layer's activations, each
// hospital sends its statistics relative to a reference every participant
// holds, the global model's own moving statistics (m₀, v₀) per channel:
//   shift  dᵢ = (mᵢ − m₀)/s₀            second  qᵢ = (vᵢ + (mᵢ − m₀)²)/s₀²
// with s₀ = √max(v₀, VARIANCE_FLOOR), both weighted by nᵢ/W. From the sums
//   mean = m₀ + s₀·D/N,  variance = s₀²·(Q/N − (D/N)²)
// where D = Σnᵢdᵢ, Q = Σnᵢqᵢ, N = Σnᵢ: the exact pooling of
// poolBatchNormStats, computed about m₀ instead of 0. The reference may be
// far off (in round 1 it is mostly the initial 0 and 1), so each real goes
// in two words: its coarse part on a grid of step R·n/(2³¹ − 1), and the
// remainder, stochastically rounded, on a grid that much finer again
// (R·n²/2⁶² for n hospitals): with 10 hospitals a variance 10⁻⁶ of the
// reference's is still pooled to a relative 10⁻⁴.
import { SecureError } from './errors';
import { FixedPoint } from './fixed-point';
import { SumLayout, maxCount } from './layout';
import type { RandomSource } from './random';

/** A hospital's mean may lie this many reference deviations from the reference mean (beyond: clipped, and counted). */
export const CALIBRATION_SHIFT_RANGE = 2 ** 10;
/** Its second moment about the reference mean may reach this many reference variances. */
export const CALIBRATION_SECOND_RANGE = 2 ** 20;
/** Reference variances below this are raised to it (a channel that never varied). */
export const VARIANCE_FLOOR = 1e-6;

/** Per-channel statistics, every BatchNorm layer's channels one after another. */
export interface ChannelStats {
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
}

export interface CalibrationSumOptions {
  /** Channels over all the summed BatchNorm layers. */
  channels: number;
  /** Most images one hospital may calibrate on. */
  maxExamples: number;
  /** Most hospitals in one sum. */
  maxSummands: number;
}

/** [shift, its remainder (reals) | second, its remainder (reals) | examples (count) | clipped (count)]. */
export function calibrationSumLayout(o: CalibrationSumOptions): SumLayout {
  if (!Number.isInteger(o.channels) || o.channels < 1) throw new SecureError('bad_config', `Expected at least one channel, got ${o.channels}`);
  return new SumLayout(
    [
      { name: 'shift', kind: 'real', length: o.channels, range: CALIBRATION_SHIFT_RANGE },
      { name: 'shiftRest', kind: 'real', length: o.channels, range: stepOf(CALIBRATION_SHIFT_RANGE, o.maxSummands) },
      { name: 'second', kind: 'real', length: o.channels, range: CALIBRATION_SECOND_RANGE },
      { name: 'secondRest', kind: 'real', length: o.channels, range: stepOf(CALIBRATION_SECOND_RANGE, o.maxSummands) },
      { name: 'examples', kind: 'count', length: 1, max: Math.min(maxCount(o.maxSummands), Math.max(1, o.maxExamples)) },
      { name: 'clipped', kind: 'count', length: 1, max: 2 * o.channels },
    ],
    o.maxSummands,
  );
}

/** The grid step of a real segment of this range (FixedPoint's quantum). */
function stepOf(range: number, maxSummands: number): number {
  return new FixedPoint({ range, maxSummands }).quantum;
}

/**
 * multiplier·values into two segments: the coarse part rounded down on
 * `name`'s grid, the remainder (in [0, one step)) rounded stochastically on
 * `name`Rest's. Returns how many values were clipped to the range.
 */
export function encodeTwoWords(layout: SumLayout, name: string, values: Float64Array, multiplier: number, out: Uint32Array, random: RandomSource): number {
  const coarse = layout.codec(name);
  const offset = layout.offset(name);
  const rest = new Float64Array(values.length);
  let clipped = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i] * multiplier;
    if (!(v <= coarse.range && v >= -coarse.range)) {
      v = v > 0 ? coarse.range : -coarse.range;
      clipped++;
    }
    const x = v * coarse.scale;
    const f = Math.floor(x);
    out[offset + i] = f | 0;
    rest[i] = (x - f) / coarse.scale;
  }
  layout.codec(`${name}Rest`).encode(rest, out, layout.offset(`${name}Rest`), random);
  return clipped;
}

/** The summed reals of a two-word segment. */
export function decodeTwoWords(parts: Record<string, Float64Array>, name: string): Float64Array {
  const out = parts[name];
  const rest = parts[`${name}Rest`];
  for (let i = 0; i < out.length; i++) out[i] += rest[i];
  return out;
}

function scales(reference: ChannelStats, channels: number): Float64Array {
  if (reference.mean.length !== channels || reference.variance.length !== channels) {
    throw new SecureError('wrong_length', `Expected reference statistics of ${channels} channels, got ${reference.mean.length} means and ${reference.variance.length} variances`);
  }
  const s = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const v = reference.variance[c];
    const m = reference.mean[c];
    if (!Number.isFinite(v) || !Number.isFinite(m)) throw new SecureError('not_finite', `The reference statistics of channel ${c} are not finite (${m}, ${v})`);
    s[c] = Math.sqrt(Math.max(v, VARIANCE_FLOOR));
  }
  return s;
}

/** One hospital's word vector: (n/W)·shift, (n/W)·second, n, and how many values were clipped. */
export function packCalibration(layout: SumLayout, reference: ChannelStats, report: ChannelStats & { examples: number }, random: RandomSource): Uint32Array {
  const channels = layout.spec('shift').length;
  const s = scales(reference, channels);
  if (report.mean.length !== channels || report.variance.length !== channels) {
    throw new SecureError('wrong_length', `Expected statistics of ${channels} channels, got ${report.mean.length} means and ${report.variance.length} variances`);
  }
  const spec = layout.spec('examples');
  const maxExamples = spec.kind === 'count' ? spec.max : 1;
  const n = report.examples;
  if (!Number.isInteger(n) || n < 1 || n > maxExamples) throw new SecureError('bad_config', `Expected statistics over 1..${maxExamples} images, got ${n}`);
  const shift = new Float64Array(channels);
  const second = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const m = report.mean[c];
    const v = report.variance[c];
    if (!Number.isFinite(m) || !Number.isFinite(v) || v < 0) throw new SecureError('not_finite', `Channel ${c}: expected a finite mean and a variance ≥ 0, got ${m} and ${v}`);
    const d = (m - reference.mean[c]) / s[c];
    shift[c] = d;
    second[c] = v / (s[c] * s[c]) + d * d;
  }
  const out = new Uint32Array(layout.length);
  const share = n / maxExamples;
  const clipped = encodeTwoWords(layout, 'shift', shift, share, out, random) + encodeTwoWords(layout, 'second', second, share, out, random);
  out[layout.offset('examples')] = n;
  out[layout.offset('clipped')] = clipped;
  return out;
}

/** The pooled statistics of every summed hospital's images, and what the sum says about itself. */
export interface PooledCalibration extends ChannelStats {
  mean: Float64Array;
  variance: Float64Array;
  /** Σnᵢ. */
  examples: number;
  /** Values clipped by the hospitals (0 when every statistic fitted its range). */
  clipped: number;
}

/** Unpacks the sum of `summands` hospitals' vectors into pooled per-channel statistics. */
export function unpackCalibration(layout: SumLayout, reference: ChannelStats, sum: Uint32Array, summands: number): PooledCalibration {
  const parts = layout.unpack(sum, summands);
  const channels = layout.spec('shift').length;
  const s = scales(reference, channels);
  const examples = parts.examples[0];
  if (examples === 0) throw new SecureError('bad_config', 'The summed image count is 0: no hospital calibrated on any image');
  const spec = layout.spec('examples');
  const factor = (spec.kind === 'count' ? spec.max : 1) / examples;
  const shift = decodeTwoWords(parts, 'shift');
  const second = decodeTwoWords(parts, 'second');
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const d = shift[c] * factor;
    const q = second[c] * factor;
    mean[c] = reference.mean[c] + s[c] * d;
    // q ≥ d² for real statistics (Jensen); fixed point's rounding may cross it by a step.
    variance[c] = s[c] * s[c] * Math.max(0, q - d * d);
  }
  return { mean, variance, examples, clipped: parts.clipped[0] };
}
