import { EvaluationError } from './errors';

/** A ROC curve as false- and true-positive rates, from the strictest threshold to the loosest. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
}

export interface HistogramAuc {
  /** Area under the ROC curve; NaN when there are no positives or no negatives. */
  auc: number;
  /** The binned AUC is within this of the exact one: half the share of positive-negative pairs that share a bin. */
  errorBound: number;
  roc: RocCurve;
}

/**
 * AUC and ROC curve from one class's histograms: `negatives[b]` and
 * `positives[b]` count the examples whose score is in bin b (bins in
 * increasing score order). Pairs in the same bin count half, as tied scores
 * do; the ROC is the trapezoid through the edges of the non-empty bins.
 */
export function histogramAuc(negatives: ArrayLike<number>, positives: ArrayLike<number>): HistogramAuc {
  if (negatives.length !== positives.length) {
    throw new EvaluationError(`Expected histograms of one length, but got ${negatives.length} and ${positives.length}`);
  }
  let P = 0;
  let N = 0;
  for (let b = 0; b < positives.length; b++) {
    P += positives[b];
    N += negatives[b];
  }
  if (P === 0 || N === 0) return { auc: Number.NaN, errorBound: Number.NaN, roc: { fpr: [], tpr: [] } };
  const fpr = [0];
  const tpr = [0];
  let tpAbove = 0;
  let fpAbove = 0;
  let area = 0;
  let shared = 0;
  for (let b = positives.length - 1; b >= 0; b--) {
    const p = positives[b];
    const n = negatives[b];
    if (p === 0 && n === 0) continue;
    area += n * (tpAbove + 0.5 * p);
    shared += n * p;
    tpAbove += p;
    fpAbove += n;
    fpr.push(fpAbove / N);
    tpr.push(tpAbove / P);
  }
  return { auc: area / (P * N), errorBound: (0.5 * shared) / (P * N), roc: { fpr, tpr } };
}

/**
 * The exact AUC from raw scores: the share of (positive, negative) pairs in
 * which the positive scores higher, ties counting half (Mann-Whitney U / PN).
 * `labels[i]` is truthy for a positive. NaN when either side is empty.
 */
export function exactAuc(scores: ArrayLike<number>, labels: ArrayLike<boolean | number>): number {
  const n = scores.length;
  if (labels.length !== n) throw new EvaluationError(`Expected ${n} labels for ${n} scores, but got ${labels.length}`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let P = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j < n && scores[order[j]] === scores[order[i]]) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (labels[order[k]]) {
        P++;
        rankSum += midRank;
      }
    }
    i = j;
  }
  const N = n - P;
  if (P === 0 || N === 0) return Number.NaN;
  return (rankSum - (P * (P + 1)) / 2) / (P * N);
}
