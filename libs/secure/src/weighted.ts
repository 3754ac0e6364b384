// FedAvg through a secure sum: each hospital sends (wᵢ/W)·updateᵢ and its
// weight wᵢ in one vector, so the coordinator learns only Σ wᵢ·updateᵢ and Σ wᵢ.
import { SecureError } from './errors';
import { SumLayout } from './layout';
import type { RandomSource } from './random';

export interface WeightedUpdateOptions {
  /** Values in the update. */
  length: number;
  /** Clipping range of each update value (a hospital that clips its L2 norm to C may use C). */
  range: number;
  /** Largest weight a hospital may declare (e.g. a cap on examples); weights are whole numbers in 0..maxWeight. */
  maxWeight: number;
  /** Most hospitals in one sum. */
  maxSummands: number;
}

/** The layout [update (length reals) | weight (1 count)]. */
export function weightedUpdateLayout(options: WeightedUpdateOptions): SumLayout {
  return new SumLayout(
    [
      { name: 'update', kind: 'real', length: options.length, range: options.range },
      { name: 'weight', kind: 'count', length: 1, max: options.maxWeight },
    ],
    options.maxSummands,
  );
}

function maxWeightOf(layout: SumLayout): number {
  const spec = layout.spec('weight');
  if (spec.kind !== 'count') throw new SecureError('bad_config', 'Expected a layout from weightedUpdateLayout(), whose "weight" segment holds a count');
  return spec.max;
}

/** A hospital's word vector: (weight/maxWeight)·update in fixed point, then the weight. */
export function packWeightedUpdate(layout: SumLayout, update: ArrayLike<number>, weight: number, random: RandomSource): Uint32Array {
  const maxWeight = maxWeightOf(layout);
  if (!Number.isInteger(weight) || weight < 0 || weight > maxWeight) throw new SecureError('bad_config', `Expected a whole weight in 0..${maxWeight}, got ${weight}`);
  const length = layout.spec('update').length;
  if (update.length !== length) throw new SecureError('wrong_length', `Expected an update of ${length} values, got ${update.length}`);
  const out = new Uint32Array(layout.length);
  layout.codec('update').encode(update, out, layout.offset('update'), random, weight / maxWeight);
  out[layout.offset('weight')] = weight;
  return out;
}

/** What the coordinator gets from a secure sum of weighted updates. */
export interface WeightedMean {
  /** Σ wᵢ·updateᵢ / Σ wᵢ. */
  mean: Float64Array;
  totalWeight: number;
  /** Per-value bound on |mean − exact weighted mean of the clipped updates|: n·W/(s·Σw). */
  errorBound: number;
}

/** The weighted mean from the sum of `summands` packed updates. */
export function unpackWeightedMean(layout: SumLayout, sum: Uint32Array, summands: number): WeightedMean {
  const { update, weight } = layout.unpack(sum, summands);
  const totalWeight = weight[0];
  if (totalWeight === 0) throw new SecureError('bad_config', 'The summed weight is 0: there is no mean');
  const maxWeight = maxWeightOf(layout);
  const factor = maxWeight / totalWeight;
  for (let i = 0; i < update.length; i++) update[i] *= factor;
  return { mean: update, totalWeight, errorBound: layout.errorBound('update', summands) * factor };
}
