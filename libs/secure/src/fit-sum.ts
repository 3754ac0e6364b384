// A round's model updates as one sum: what a hospital packs (its weighted,
// clipped update, its pooled training metrics and its weight) and what the
// coordinator unpacks from the sum of the survivors' vectors.
import { SecureError } from './errors';
import { SumLayout, maxCount } from './layout';
import type { RandomSource } from './random';

/** Training loss and accuracy are clipped to this range before they are summed. */
export const METRICS_RANGE = 100;

export interface FitSumOptions {
  /** Values in the update (the aggregated tensors, in manifest order). */
  length: number;
  /** Clipping range of each update value. */
  range: number;
  /** Largest weight (examples) a hospital may declare, capped at maxCount(maxSummands); unused with DP. */
  maxWeight: number;
  /** Most hospitals in one sum. */
  maxSummands: number;
  /** DP-FedAvg: the update only (already weighted and noised by the hospital); no realised weight or metrics are released. */
  dp: boolean;
  /** With DP and adaptive clipping: the range of the clipping indicator (±1/2 plus its noise share). */
  indicatorRange?: number;
}

/** [update (reals) | metrics: loss, accuracy (reals) | weight (count)], or [update] alone with DP. */
export function fitSumLayout(o: FitSumOptions): SumLayout {
  if (o.dp) {
    const indicator = o.indicatorRange === undefined ? [] : [{ name: 'indicator', kind: 'real' as const, length: 1, range: o.indicatorRange }];
    return new SumLayout([{ name: 'update', kind: 'real', length: o.length, range: o.range }, ...indicator], o.maxSummands);
  }
  return new SumLayout(
    [
      { name: 'update', kind: 'real', length: o.length, range: o.range },
      { name: 'metrics', kind: 'real', length: 2, range: METRICS_RANGE },
      { name: 'weight', kind: 'count', length: 1, max: Math.min(maxCount(o.maxSummands), Math.max(1, o.maxWeight)) },
    ],
    o.maxSummands,
  );
}

function has(layout: SumLayout, name: string): boolean {
  return layout.toWire().segments.some((s) => s.name === name);
}

/** One hospital's contribution. */
export interface FitContribution {
  update: ArrayLike<number>;
  /** Examples it trained on (capped at the layout's max weight); ignored with DP. */
  examples: number;
  loss: number;
  accuracy: number;
  /** DP with adaptive clipping: the noised clipping indicator. */
  indicator?: number;
}

/** A hospital's word vector: (w/W)·update, (w/W)·[loss, accuracy], w — or, with DP, the (already weighted) update alone. */
export function packFitContribution(layout: SumLayout, c: FitContribution, random: RandomSource): Uint32Array {
  const out = new Uint32Array(layout.length);
  const length = layout.spec('update').length;
  if (c.update.length !== length) throw new SecureError('wrong_length', `Expected an update of ${length} values, got ${c.update.length}`);
  if (!has(layout, 'weight')) {
    layout.codec('update').encode(c.update, out, layout.offset('update'), random);
    if (has(layout, 'indicator')) layout.codec('indicator').encode([c.indicator ?? 0], out, layout.offset('indicator'), random);
    return out;
  }
  const spec = layout.spec('weight');
  const maxWeight = spec.kind === 'count' ? spec.max : 1;
  const w = Math.min(maxWeight, Math.max(0, Math.floor(c.examples)));
  const share = w / maxWeight;
  layout.codec('update').encode(c.update, out, layout.offset('update'), random, share);
  layout.codec('metrics').encode([c.loss, c.accuracy], out, layout.offset('metrics'), random, share);
  out[layout.offset('weight')] = w;
  return out;
}

/** What the coordinator gets from the sum. */
export interface FitSum {
  /** Without DP: Σwᵢ·updateᵢ/Σwᵢ. With DP: Σ updateᵢ (the DP mechanism divides by its fixed denominator). */
  update: Float64Array;
  /** Σ wᵢ (null with DP: not released). */
  totalWeight: number | null;
  /** Example-weighted mean training loss and accuracy (NaN with DP). */
  loss: number;
  accuracy: number;
  /** Per-value bound on the fixed point's error in `update`. */
  errorBound: number;
  /** DP with adaptive clipping: Σ indicators. */
  indicatorSum?: number;
}

/** Unpacks the sum of `summands` hospitals' vectors. */
export function unpackFitSum(layout: SumLayout, sum: Uint32Array, summands: number): FitSum {
  const parts = layout.unpack(sum, summands);
  const bound = layout.errorBound('update', summands);
  if (!has(layout, 'weight')) {
    const out: FitSum = { update: parts.update, totalWeight: null, loss: NaN, accuracy: NaN, errorBound: bound };
    if (parts.indicator) out.indicatorSum = parts.indicator[0];
    return out;
  }
  const totalWeight = parts.weight[0];
  if (totalWeight === 0) throw new SecureError('bad_config', 'The summed weight is 0: the hospitals trained on no examples');
  const spec = layout.spec('weight');
  const factor = (spec.kind === 'count' ? spec.max : 1) / totalWeight;
  const update = parts.update;
  for (let i = 0; i < update.length; i++) update[i] *= factor;
  return { update, totalWeight, loss: parts.metrics[0] * factor, accuracy: parts.metrics[1] * factor, errorBound: bound * factor };
}
