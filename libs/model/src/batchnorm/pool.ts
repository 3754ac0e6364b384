import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from '../errors';
import { BATCHNORM_POOLINGS, varianceNameOf, type BatchNormPooling, type BatchNormStatsReport } from './report';

export interface PoolOptions {
  /** @default 'exact' */
  pooling?: BatchNormPooling;
  /** Share of the reports dropped at each end, per channel, by 'trimmed-mean'; in [0, 0.5). @default 0.2 (as FedTrimmedAvg) */
  trimFraction?: number;
}

/** A centre of k values (in place: may reorder `values`), `weights` summing to 1. */
type Centre = (values: Float64Array, weights: Float64Array) => number;

const weightedMean: Centre = (values, weights) => {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += weights[i] * values[i];
  return s;
};

const median: Centre = (values) => {
  values.sort();
  const k = values.length;
  return k % 2 === 1 ? values[(k - 1) / 2] : (values[k / 2 - 1] + values[k / 2]) / 2;
};

function trimmedMean(trim: number): Centre {
  return (values) => {
    values.sort();
    let s = 0;
    for (let i = trim; i < values.length - trim; i++) s += values[i];
    return s / (values.length - 2 * trim);
  };
}

function centreFor(pooling: BatchNormPooling, sites: number, trimFraction: number): Centre {
  switch (pooling) {
    case 'exact':
      return weightedMean;
    case 'median':
      return median;
    case 'trimmed-mean':
      if (!(trimFraction >= 0 && trimFraction < 0.5)) throw new ModelError(`Expected trimFraction in [0, 0.5), but got ${trimFraction}`);
      return trimmedMean(Math.floor(trimFraction * sites));
    default:
      throw new ModelError(`Unknown BatchNorm pooling '${pooling as string}'; expected one of ${BATCHNORM_POOLINGS.join(', ')}`);
  }
}

/** Each report's statistics by name, after checking that all reports name the same tensors with the same sizes. */
function alignReports(reports: BatchNormStatsReport[]): { names: NamedWeights; values: Map<string, Float32Array>[] } {
  if (reports.length === 0) throw new ModelError('Expected BatchNorm statistics from at least one site, but got none');
  const names = reports[0].stats;
  const values = reports.map((r, i) => {
    const byName = new Map(r.stats.map((t) => [t.name, t.values]));
    for (const t of names) {
      const v = byName.get(t.name);
      if (!v || v.length !== t.values.length) throw new ModelError(`Report ${i + 1} lacks ${t.name} with ${t.values.length} values`, 'missing_stat');
    }
    if (byName.size !== names.length) throw new ModelError(`Report ${i + 1} names ${byName.size} statistics, report 1 names ${names.length}`, 'unknown_stat');
    return byName;
  });
  for (const t of names) {
    const pair = t.name.endsWith('/moving_mean') ? varianceNameOf(t.name) : t.name.replace(/moving_variance$/, 'moving_mean');
    if (!values[0].has(pair)) throw new ModelError(`${t.name} comes without ${pair}`, 'missing_stat');
  }
  return { names, values };
}

/**
 * One set of BatchNorm statistics from several sites' reports, per channel:
 * - `exact`: the statistics of all the sites' images together,
 *   mean = Σ nᵢmᵢ / N and variance = Σ nᵢ(vᵢ + (mᵢ − mean)²) / N
 *   (= Σ nᵢ(vᵢ + mᵢ²)/N − mean², computed without the cancellation);
 * - `median` / `trimmed-mean` (for runs with robust strategies, where a site
 *   may lie): the centre c of the sites' means, unweighted, and the same
 *   centre of each site's second moment about it, vᵢ + (mᵢ − c)², as the
 *   variance. With no trimming the trimmed mean is the exact pooling of
 *   equally sized sites.
 * Returns `<layer>/moving_mean` and `<layer>/moving_variance` tensors in the
 * first report's order.
 */
export function poolBatchNormStats(reports: BatchNormStatsReport[], options: PoolOptions = {}): NamedWeights {
  const { names, values } = alignReports(reports);
  const k = reports.length;
  const centre = centreFor(options.pooling ?? 'exact', k, options.trimFraction ?? 0.2);
  const total = reports.reduce((s, r) => s + r.examples, 0);
  const weights = Float64Array.from(reports, (r) => r.examples / total);
  const pooled = new Map<string, Float32Array>();
  const m = new Float64Array(k);
  const q = new Float64Array(k);
  for (const t of names) {
    if (!t.name.endsWith('/moving_mean')) continue;
    const varName = varianceNameOf(t.name);
    const means = values.map((v) => v.get(t.name)!);
    const variances = values.map((v) => v.get(varName)!);
    const meanOut = new Float32Array(t.values.length);
    const varOut = new Float32Array(t.values.length);
    for (let c = 0; c < meanOut.length; c++) {
      for (let i = 0; i < k; i++) m[i] = means[i][c];
      const mean = centre(m, weights);
      for (let i = 0; i < k; i++) q[i] = variances[i][c] + (means[i][c] - mean) ** 2;
      meanOut[c] = mean;
      varOut[c] = centre(q, weights);
    }
    pooled.set(t.name, meanOut);
    pooled.set(varName, varOut);
  }
  return names.map((t) => ({ name: t.name, shape: [...t.shape], values: pooled.get(t.name)! }));
}
