// BatchNorm statistics of the calibration phase: which tensors they are, the
// check of one hospital's report, exact pooling, and applying the pooled
// values to the global weights.
import { ProtocolError, validateWeights, type NamedWeights } from '@fedxray/protocol';

/** One hospital's moving statistics (`<layer>/moving_mean`, `<layer>/moving_variance`) over `examples` of its images. */
export interface BatchNormStatsReport {
  examples: number;
  stats: NamedWeights;
}

/** How reports are pooled. Only `exact` is built here; the others are refused. */
export type BatchNormPooling = 'exact' | 'median' | 'trimmed-mean';

const STAT = /\/moving_(mean|variance)$/;

/** The BatchNorm moving statistics of a model, in manifest order. */
export function batchNormStatNames(manifest: { name: string }[]): string[] {
  return manifest.filter((t) => STAT.test(t.name)).map((t) => t.name);
}

/**
 * Refuses a report that is not exactly the statistics of `manifest` (names in
 * order, shapes, finite values), has a negative variance, or claims more
 * examples than `limits.maxExamples`. Throws ProtocolError with a code.
 */
export function checkBatchNormReport(manifest: { name: string; shape: number[] }[], report: BatchNormStatsReport, limits: { maxExamples: number }): void {
  if (!Number.isInteger(report.examples) || report.examples < 1 || report.examples > limits.maxExamples) {
    throw new ProtocolError('bad_message', `Expected the statistics of 1…${limits.maxExamples} examples, but the report claims ${report.examples} examples`);
  }
  const names = new Set(batchNormStatNames(manifest));
  validateWeights(
    manifest.filter((t) => names.has(t.name)),
    report.stats,
  );
  for (const t of report.stats) {
    if (t.name.endsWith('/moving_variance') && t.values.some((v) => v < 0)) throw new ProtocolError('bad_weights', `${t.name} has a negative variance`);
  }
}

/**
 * Pools the hospitals' statistics exactly: mean = Σ nᵢmᵢ / N and variance =
 * Σ nᵢ(vᵢ + mᵢ²) / N − mean², in float64. Exact for the pooled images when each
 * report is exact for its own. Every report covers the same tensors.
 */
export function poolBatchNormStats(reports: BatchNormStatsReport[], options: { pooling?: BatchNormPooling; trimFraction?: number } = {}): NamedWeights {
  if ((options.pooling ?? 'exact') !== 'exact') throw new ProtocolError('bad_message', `Expected pooling 'exact' (the only one here), but got ${JSON.stringify(options.pooling)}`);
  if (reports.length === 0) throw new ProtocolError('bad_message', 'Expected at least one BatchNorm report to pool, but got none');
  const total = reports.reduce((s, r) => s + r.examples, 0);
  const byName = reports.map((r) => new Map(r.stats.map((t) => [t.name, t.values])));
  const out: NamedWeights = [];
  for (const t of reports[0].stats) {
    if (!t.name.endsWith('/moving_mean')) continue;
    const varName = t.name.replace(/moving_mean$/, 'moving_variance');
    const mean = new Float64Array(t.values.length);
    const sq = new Float64Array(t.values.length);
    reports.forEach((r, i) => {
      const w = r.examples / total;
      const m = byName[i].get(t.name)!;
      const v = byName[i].get(varName)!;
      for (let k = 0; k < mean.length; k++) {
        mean[k] += w * m[k];
        sq[k] += w * (v[k] + m[k] * m[k]);
      }
    });
    out.push({ name: t.name, shape: [...t.shape], values: Float32Array.from(mean) });
    out.push({ name: varName, shape: [...t.shape], values: Float32Array.from(sq, (s, k) => Math.max(0, s - mean[k] * mean[k])) });
  }
  return out;
}

/** `weights` with the pooled statistics in place of their own (new entries for those tensors; the rest shared). */
export function applyBatchNormStats(weights: NamedWeights, pooled: NamedWeights): NamedWeights {
  const byName = new Map(pooled.map((t) => [t.name, t]));
  return weights.map((t) => {
    const p = byName.get(t.name);
    return p ? { name: t.name, shape: t.shape, values: p.values } : t;
  });
}
