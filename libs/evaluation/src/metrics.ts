import { histogramAuc } from './auc';
import type { RocCurve } from './auc';
import { checkSummary } from './summary';
import type { EvaluationSummary } from './summary';

/**
 * Metrics of one class, one-vs-rest. A ratio whose denominator is zero is NaN
 * (written as null in JSON): precision of a class never predicted, recall of
 * a class with no examples, AUC without both positives and negatives.
 */
export interface ClassMetrics {
  name: string;
  precision: number;
  /** Sensitivity. */
  recall: number;
  specificity: number;
  f1: number;
  support: number;
  auc: number;
  /** The histogram AUC is within this of the AUC over the raw scores. */
  aucErrorBound: number;
  roc: RocCurve;
}

export interface AveragedMetrics {
  precision: number;
  recall: number;
  specificity: number;
  f1: number;
}

export interface Metrics {
  classes: string[];
  count: number;
  accuracy: number;
  /** Mean recall over the classes that have examples. */
  balancedAccuracy: number;
  /** Mean loss per example. */
  loss: number;
  perClass: ClassMetrics[];
  /** Unweighted mean over the classes where the metric is defined. */
  macro: AveragedMetrics;
  /** Mean weighted by support over the classes where the metric is defined. */
  weighted: AveragedMetrics;
  /** Mean one-vs-rest AUC over the classes where it is defined. */
  macroAuc: number;
  kappa: number;
  /** Expected calibration error of the top score over the summary's equal-width calibration bins. */
  ece: number;
  confusion: number[][];
}

const ratio = (a: number, b: number): number => (b === 0 ? Number.NaN : a / b);

function average(values: number[], weights?: number[]): number {
  let sum = 0;
  let total = 0;
  values.forEach((v, i) => {
    if (Number.isNaN(v)) return;
    const w = weights ? weights[i] : 1;
    sum += w * v;
    total += w;
  });
  return ratio(sum, total);
}

function averaged(perClass: ClassMetrics[], weights?: number[]): AveragedMetrics {
  const pick = (k: keyof AveragedMetrics): number => average(perClass.map((m) => m[k]), weights);
  return { precision: pick('precision'), recall: pick('recall'), specificity: pick('specificity'), f1: pick('f1') };
}

/** Every metric the summary determines. Checks the summary first (throws EvaluationError if inconsistent). */
export function computeMetrics(summary: EvaluationSummary): Metrics {
  checkSummary(summary);
  const { classes, confusion, count: n } = summary;
  const C = classes.length;
  const rowSums = confusion.map((row) => row.reduce((a, v) => a + v, 0));
  const colSums = classes.map((_, p) => confusion.reduce((a, row) => a + row[p], 0));
  let trace = 0;
  for (let c = 0; c < C; c++) trace += confusion[c][c];

  const perClass: ClassMetrics[] = classes.map((name, c) => {
    const tp = confusion[c][c];
    const fp = colSums[c] - tp;
    const fn = rowSums[c] - tp;
    const tn = n - tp - fp - fn;
    const { auc, errorBound, roc } = histogramAuc(summary.histograms[c][0], summary.histograms[c][1]);
    return {
      name,
      precision: ratio(tp, tp + fp),
      recall: ratio(tp, tp + fn),
      specificity: ratio(tn, tn + fp),
      f1: ratio(2 * tp, 2 * tp + fp + fn),
      support: rowSums[c],
      auc,
      aucErrorBound: errorBound,
      roc,
    };
  });

  const accuracy = ratio(trace, n);
  let expected = 0;
  for (let c = 0; c < C; c++) expected += rowSums[c] * colSums[c];
  const pe = ratio(expected, n * n);
  const kappa = ratio(accuracy - pe, 1 - pe);

  const cal = summary.calibration;
  let gap = 0;
  for (let b = 0; b < cal.count.length; b++) gap += Math.abs(cal.correct[b] - cal.confidenceSum[b]);

  return {
    classes: [...classes],
    count: n,
    accuracy,
    balancedAccuracy: average(perClass.map((m) => m.recall)),
    loss: ratio(summary.lossSum, n),
    perClass,
    macro: averaged(perClass),
    weighted: averaged(perClass, rowSums),
    macroAuc: average(perClass.map((m) => m.auc)),
    kappa,
    ece: ratio(gap, n),
    confusion: confusion.map((row) => [...row]),
  };
}
