import { AggregationError } from './errors';

/** Where the first NaN or ±Inf value is: tensor (by position), index in it, and the value. */
export interface NonFinite {
  tensor: number;
  index: number;
  value: number;
}

/** The first NaN or ±Inf value in the tensors, or null when every value is finite. */
export function findNonFinite(tensors: readonly Float32Array[]): NonFinite | null {
  for (let s = 0; s < tensors.length; s++) {
    const t = tensors[s];
    for (let i = 0; i < t.length; i++) {
      // x − x is 0 for every finite x, NaN for NaN and ±Inf
      if (t[i] - t[i] !== 0) return { tensor: s, index: i, value: t[i] };
    }
  }
  return null;
}

/** The refusal of an update whose values include `bad`, naming the tensor and index. */
export function notFiniteMessage(hospitalId: string, bad: NonFinite, names: readonly string[]): string {
  return `Update from ${hospitalId}: ${names[bad.tensor]}[${bad.index}] is ${bad.value}; every value must be finite`;
}

/** Throws AggregationError `not_finite` if any value of the update's tensors (named by `names`) is NaN or ±Inf. */
export function refuseNonFinite(hospitalId: string, tensors: readonly Float32Array[], names: readonly string[]): void {
  const bad = findNonFinite(tensors);
  if (bad) throw new AggregationError('not_finite', notFiniteMessage(hospitalId, bad, names));
}
