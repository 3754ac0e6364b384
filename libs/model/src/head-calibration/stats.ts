// Class-conditional statistics of the features the classifier's last layer
// reads (the head's BatchNorm output, inference mode): per class the image
// count, Σf and Σ f fᵀ (upper triangle). They are sums, so hospitals' reports
// pool by adding them, and the pooled ones are those of all their images
// together (the statistics a Gaussian per class needs: mean and covariance).
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from '../errors';

/** Per class: images, Σf (C×F, class-major) and Σ f fᵀ (a ≤ b, row-major; C×F(F+1)/2). */
export interface HeadStats {
  classes: number;
  features: number;
  counts: Float64Array;
  sum: Float64Array;
  second: Float64Array;
}

/** The names of a head-statistics report's tensors. */
export const HEAD_STAT_NAMES = { counts: 'head/counts', sum: 'head/sum', second: 'head/second' } as const;

/** Length of a packed upper triangle (with the diagonal) of an F×F matrix. */
export function triangleLength(features: number): number {
  return (features * (features + 1)) / 2;
}

export function emptyHeadStats(classes: number, features: number): HeadStats {
  return { classes, features, counts: new Float64Array(classes), sum: new Float64Array(classes * features), second: new Float64Array(classes * triangleLength(features)) };
}

/** Adds n feature rows (row-major, F each) with their run-order labels into `s`. */
export function addFeatures(s: HeadStats, features: ArrayLike<number>, labels: ArrayLike<number>): void {
  const F = s.features;
  const T = triangleLength(F);
  if (features.length !== labels.length * F) throw new ModelError(`Expected ${labels.length} feature rows of ${F}, got ${features.length} values`);
  const row = new Float64Array(F);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= s.classes) throw new ModelError(`Expected a class index in 0..${s.classes - 1}, got ${c}`);
    for (let a = 0; a < F; a++) row[a] = features[i * F + a];
    s.counts[c]++;
    const sum = c * F;
    for (let a = 0; a < F; a++) s.sum[sum + a] += row[a];
    let k = c * T;
    for (let a = 0; a < F; a++) {
      const fa = row[a];
      for (let b = a; b < F; b++) s.second[k++] += fa * row[b];
    }
  }
}

/** The statistics as a report's named tensors (float32 on the wire). */
export function headStatsToNamed(s: HeadStats): NamedWeights {
  return [
    { name: HEAD_STAT_NAMES.counts, shape: [s.classes], values: Float32Array.from(s.counts) },
    { name: HEAD_STAT_NAMES.sum, shape: [s.classes, s.features], values: Float32Array.from(s.sum) },
    { name: HEAD_STAT_NAMES.second, shape: [s.classes, triangleLength(s.features)], values: Float32Array.from(s.second) },
  ];
}

/**
 * A report read back and checked against what the run expects: exactly the
 * three tensors, their shapes, finite values, whole non-negative counts that
 * add up to 1..maxExamples, and a non-negative Σf² on the diagonal (a sum of
 * squares). Throws ModelError saying what is wrong.
 */
export function headStatsFromNamed(w: NamedWeights, classes: number, features: number, maxExamples: number): HeadStats {
  const T = triangleLength(features);
  const want: [string, number[]][] = [
    [HEAD_STAT_NAMES.counts, [classes]],
    [HEAD_STAT_NAMES.sum, [classes, features]],
    [HEAD_STAT_NAMES.second, [classes, T]],
  ];
  if (w.length !== want.length) throw new ModelError(`Expected head statistics ${want.map(([n]) => n).join(', ')}, got ${w.length} tensors (${w.map((t) => t.name).join(', ')})`);
  const byName = new Map(w.map((t) => [t.name, t]));
  for (const [name, shape] of want) {
    const t = byName.get(name);
    if (!t) throw new ModelError(`Expected head statistics ${want.map(([n]) => n).join(', ')}, but ${name} is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) throw new ModelError(`Expected ${name} of shape [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
    const bad = t.values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new ModelError(`${name}[${bad}] is not finite (${t.values[bad]})`);
  }
  const s = emptyHeadStats(classes, features);
  s.counts.set(byName.get(HEAD_STAT_NAMES.counts)!.values);
  s.sum.set(byName.get(HEAD_STAT_NAMES.sum)!.values);
  s.second.set(byName.get(HEAD_STAT_NAMES.second)!.values);
  let total = 0;
  for (let c = 0; c < classes; c++) {
    const n = s.counts[c];
    if (!Number.isInteger(n) || n < 0) throw new ModelError(`Expected a whole number of images of class ${c}, got ${n}`);
    total += n;
    let k = c * T;
    for (let a = 0; a < features; a++) {
      if (s.second[k] < 0) throw new ModelError(`Class ${c}'s Σf² of feature ${a} is negative (${s.second[k]}): not a sum of squares`);
      if (n === 0 && (s.second[k] !== 0 || s.sum[c * features + a] !== 0)) throw new ModelError(`Class ${c} has no image but non-zero sums`);
      k += features - a;
    }
  }
  if (total < 1 || total > maxExamples) throw new ModelError(`Expected statistics over 1..${maxExamples} images, got ${total}`);
  return s;
}

/** The sum of several reports: the statistics of all their images together. */
export function poolHeadStats(reports: readonly HeadStats[]): HeadStats {
  if (reports.length === 0) throw new ModelError('Expected at least one head-statistics report to pool');
  const { classes, features } = reports[0];
  const out = emptyHeadStats(classes, features);
  for (const r of reports) {
    if (r.classes !== classes || r.features !== features) throw new ModelError(`Expected reports of ${classes} classes × ${features} features, got ${r.classes} × ${r.features}`);
    for (let i = 0; i < out.counts.length; i++) out.counts[i] += r.counts[i];
    for (let i = 0; i < out.sum.length; i++) out.sum[i] += r.sum[i];
    for (let i = 0; i < out.second.length; i++) out.second[i] += r.second[i];
  }
  return out;
}
