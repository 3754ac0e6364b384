/**
 * Named weights: the one representation of a model that crosses lib boundaries.
 * An ordered list of tensors, each with a stable name (the Keras layer/weight
 * path, e.g. `conv1/conv/kernel`), a shape and float32 values.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export type NamedWeights = NamedTensor[];

export type WireDtype = 'float32' | 'float16';

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: WireDtype;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Total number of values in a list of named tensors. */
export function countValues(weights: readonly { shape: readonly number[] }[]): number {
  let n = 0;
  for (const w of weights) n += sizeOf(w.shape);
  return n;
}

/**
 * `base` with every tensor `updates` names replaced by that tensor, in
 * `base`'s order: a partial model (what trained, a hospital's tensors kept
 * local) completed with the rest of a whole one.
 */
export function overlayWeights(base: NamedWeights, updates: NamedWeights): NamedWeights {
  const byName = new Map(updates.map((t) => [t.name, t]));
  return base.map((t) => byName.get(t.name) ?? t);
}
