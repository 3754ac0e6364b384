/**
 * Score bins for the per-class histograms. A summary carries only the bin
 * count; the edges follow from it through {@link binEdges}, so every party
 * that uses this lib bins the same way.
 *
 * The bins are equal steps of t(logit(p)), with t(x) = sign(x)·ln(1 + |x|/4),
 * over logit(p) ∈ [-88, 17]: about as fine as equal-width bins in the middle,
 * and still resolving the scores that softmax piles up next to 0 and 1
 * (p = 1e-30 and p = 1e-31 land in different bins). The range covers every
 * float32 score: the smallest normal float32 (1.2e-38) has logit -87.3, the
 * largest float32 below 1 (1 - 2^-24) has logit 16.6. Scores outside it
 * (denormals, exactly 0 or 1) fall in the first or last bin.
 */

/** Bins per class histogram unless told otherwise; see docs/EVALUATION.md for why. */
export const DEFAULT_BINS = 2000;
/** Equal-width bins of the top score for the calibration table (and ECE). */
export const DEFAULT_CALIBRATION_BINS = 15;

const LOGIT_MIN = -88;
const LOGIT_MAX = 17;
const SCALE = 4;

function warp(x: number): number {
  return Math.sign(x) * Math.log1p(Math.abs(x) / SCALE);
}
function unwarp(u: number): number {
  return Math.sign(u) * SCALE * Math.expm1(Math.abs(u));
}
const U_MIN = warp(LOGIT_MIN);
const U_SPAN = warp(LOGIT_MAX) - U_MIN;

/** The bin (0 … bins-1) a score in [0, 1] falls in. NaN is the caller's to refuse. */
export function scoreBin(score: number, bins: number): number {
  if (!(score > 0)) return 0;
  if (score >= 1) return bins - 1;
  const logit = Math.log(score) - Math.log1p(-score);
  const clamped = Math.min(LOGIT_MAX, Math.max(LOGIT_MIN, logit));
  const b = Math.floor((bins * (warp(clamped) - U_MIN)) / U_SPAN);
  return Math.min(bins - 1, Math.max(0, b));
}

/** The bins+1 score edges of the histogram bins: edges[0] = 0, edges[bins] = 1, bin b is [edges[b], edges[b+1]). */
export function binEdges(bins: number): Float64Array {
  const edges = new Float64Array(bins + 1);
  for (let b = 1; b < bins; b++) {
    const logit = unwarp(U_MIN + (U_SPAN * b) / bins);
    edges[b] = 1 / (1 + Math.exp(-logit));
  }
  edges[bins] = 1;
  return edges;
}

/** The equal-width calibration bin of a top score in [0, 1]. */
export function calibrationBin(score: number, bins: number): number {
  if (!(score > 0)) return 0;
  return Math.min(bins - 1, Math.floor(score * bins));
}
