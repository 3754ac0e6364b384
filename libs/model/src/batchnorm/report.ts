import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from '../errors';

/**
 * One site's BatchNorm statistics of a model: for every BatchNorm layer,
 * `<layer>/moving_mean` and `<layer>/moving_variance` (population variance)
 * over every position of the `examples` images it ran.
 */
export interface BatchNormStatsReport {
  examples: number;
  stats: NamedWeights;
}

/** How reports from several sites become one set of statistics (see poolBatchNormStats). */
export type BatchNormPooling = 'exact' | 'median' | 'trimmed-mean';
export const BATCHNORM_POOLINGS: readonly BatchNormPooling[] = ['exact', 'median', 'trimmed-mean'];

const STAT = /\/moving_(mean|variance)$/;

/** Names of the BatchNorm moving statistics in a weight manifest, in manifest order. */
export function batchNormStatNames(manifest: { name: string }[]): string[] {
  return manifest.filter((w) => STAT.test(w.name)).map((w) => w.name);
}

/** `<layer>/moving_variance` for `<layer>/moving_mean`. */
export function varianceNameOf(meanName: string): string {
  return meanName.replace(/moving_mean$/, 'moving_variance');
}

/**
 * The moving means and variances of the layers named by their moving-mean
 * tensors, channel after channel in that order (how a secure sum packs them).
 * Throws a ModelError naming a tensor `weights` lacks.
 */
export function batchNormChannels(weights: NamedWeights, means: readonly string[]): { mean: Float32Array; variance: Float32Array } {
  const byName = new Map(weights.map((t) => [t.name, t.values]));
  const pick = (names: readonly string[]) => {
    const parts = names.map((n) => {
      const v = byName.get(n);
      if (!v) throw new ModelError(`No BatchNorm statistic ${n} among the weights`, 'missing_stat');
      return v;
    });
    const out = new Float32Array(parts.reduce((s, v) => s + v.length, 0));
    let at = 0;
    for (const v of parts) {
      out.set(v, at);
      at += v.length;
    }
    return out;
  };
  return { mean: pick(means), variance: pick(means.map(varianceNameOf)) };
}

/**
 * Refuses a report that does not fit the model: an example count that is not
 * an integer in (0, maxExamples], a missing, unknown or repeated statistic, a
 * shape other than the manifest's, a value that is not finite, a negative
 * variance. Throws a ModelError whose `code` says which.
 */
export function checkBatchNormReport(manifest: { name: string; shape: number[] }[], report: BatchNormStatsReport, limits: { maxExamples: number }): void {
  const { examples } = report;
  if (!Number.isInteger(examples) || examples <= 0 || examples > limits.maxExamples) {
    throw new ModelError(`Expected BatchNorm statistics over an integer number of images in [1, ${limits.maxExamples}], but got ${examples}`, 'bad_examples');
  }
  const shapes = new Map(manifest.map((w) => [w.name, w.shape]));
  const want = new Map(batchNormStatNames(manifest).map((n) => [n, shapes.get(n)!]));
  const seen = new Set<string>();
  for (const t of report.stats) {
    const shape = want.get(t.name);
    if (!shape || seen.has(t.name)) {
      throw new ModelError(`${t.name} is ${shape ? 'reported twice' : 'not a BatchNorm statistic of this model'}`, 'unknown_stat');
    }
    seen.add(t.name);
    const count = shape.reduce((a, b) => a * b, 1);
    if (t.shape.join(',') !== shape.join(',') || t.values.length !== count) {
      throw new ModelError(`${t.name}: expected shape [${shape.join(',')}] (${count} values), but got [${t.shape.join(',')}] (${t.values.length} values)`, 'shape_mismatch');
    }
    const variance = t.name.endsWith('/moving_variance');
    for (let i = 0; i < t.values.length; i++) {
      const v = t.values[i];
      if (!Number.isFinite(v)) throw new ModelError(`${t.name}[${i}] is ${v}, expected a finite number`, 'not_finite');
      if (variance && v < 0) throw new ModelError(`${t.name}[${i}] is ${v}, expected a variance ≥ 0`, 'negative_variance');
    }
  }
  const missing = [...want.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) {
    const more = missing.length > 5 ? ` (and ${missing.length - 5} more)` : '';
    throw new ModelError(`BatchNorm statistics missing: ${missing.slice(0, 5).join(', ')}${more}`, 'missing_stat');
  }
}

/**
 * `weights` with the pooled statistics in place of their own (a new list;
 * the inputs stay as they are). Every pooled tensor must name a weight of the
 * same shape.
 */
export function applyBatchNormStats(weights: NamedWeights, pooled: NamedWeights): NamedWeights {
  const byName = new Map(pooled.map((t) => [t.name, t]));
  const out = weights.map((w) => {
    const p = byName.get(w.name);
    if (!p) return w;
    if (p.shape.join(',') !== w.shape.join(',') || p.values.length !== w.values.length) {
      throw new ModelError(`${w.name}: expected pooled statistics of shape [${w.shape.join(',')}], but got [${p.shape.join(',')}]`, 'shape_mismatch');
    }
    byName.delete(w.name);
    return { ...w, values: p.values };
  });
  if (byName.size > 0) throw new ModelError(`Pooled statistics for weights the model does not have: ${[...byName.keys()].join(', ')}`, 'unknown_stat');
  return out;
}
