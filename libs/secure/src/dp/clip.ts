// L2 norms and clipping of an update, in float64 whatever the array type.

/** ‖values‖₂, accumulated in float64. */
export function l2Norm(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

/** values ← values·factor in place. */
export function scaleInPlace(values: Float32Array | Float64Array, factor: number): void {
  if (factor === 1) return;
  for (let i = 0; i < values.length; i++) values[i] *= factor;
}

/** Scales `values` in place so that its L2 norm is at most `clip`; returns the norm before and the factor applied. */
export function clipL2(values: Float32Array | Float64Array, clip: number): { norm: number; factor: number } {
  const norm = l2Norm(values);
  const factor = norm > clip ? clip / norm : 1;
  scaleInPlace(values, factor);
  return { norm, factor };
}
