import { DEFAULT_BINS, DEFAULT_CALIBRATION_BINS, calibrationBin, scoreBin } from './bins';
import { EvaluationError } from './errors';

/**
 * What one party's evaluation adds up to: sums and counts only, so the
 * summaries of several hospitals merge into exactly the pooled summary and no
 * single prediction leaves a hospital. The wire form is
 * `EvaluationSummarySchema` in @fedxray/protocol.
 */
export interface EvaluationSummary {
  classes: string[];
  /** Examples seen. */
  count: number;
  /** Sum of per-example losses. */
  lossSum: number;
  /** confusion[true][predicted]. */
  confusion: number[][];
  /** Histogram bins per class; edges from `binEdges(bins)`. */
  bins: number;
  /** histograms[c][t][b]: examples whose "true class is c" flag is t (0 or 1) and whose score for class c is in bin b. */
  histograms: number[][][];
  /** Per equal-width bin of the top score: examples, sum of their top scores, how many were right. */
  calibration: { count: number[]; confidenceSum: number[]; correct: number[] };
}

export interface SummaryOptions {
  /** Histogram bins per class. @default DEFAULT_BINS (2000) */
  bins?: number;
  /** Equal-width bins of the top score for calibration. @default DEFAULT_CALIBRATION_BINS (15) */
  calibrationBins?: number;
}

const zeros = (n: number): number[] => new Array<number>(n).fill(0);

function positiveInt(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new EvaluationError(`Expected ${name} to be an integer in 1…${max}, but got ${value}`);
  }
  return value;
}

/** An empty summary for these classes. */
export function createSummary(classes: string[], options: SummaryOptions = {}): EvaluationSummary {
  if (!Array.isArray(classes) || classes.length < 2) {
    throw new EvaluationError(`Expected at least 2 class names, but got ${JSON.stringify(classes)}`);
  }
  if (new Set(classes).size !== classes.length) throw new EvaluationError(`Expected distinct class names, but got ${classes.join(', ')}`);
  const bins = positiveInt('bins', options.bins ?? DEFAULT_BINS, 100_000);
  const calibrationBins = positiveInt('calibrationBins', options.calibrationBins ?? DEFAULT_CALIBRATION_BINS, 100_000);
  const C = classes.length;
  return {
    classes: [...classes],
    count: 0,
    lossSum: 0,
    confusion: Array.from({ length: C }, () => zeros(C)),
    bins,
    histograms: Array.from({ length: C }, () => [zeros(bins), zeros(bins)]),
    calibration: { count: zeros(calibrationBins), confidenceSum: zeros(calibrationBins), correct: zeros(calibrationBins) },
  };
}

/** Keras clips probabilities to [1e-7, 1 - 1e-7] before taking logs; so do we when no losses are given. */
const EPSILON = 1e-7;

/**
 * Adds a batch of predictions to the summary (mutates it and returns it).
 * `probs` is n×C row-major (softmax or sigmoid scores in [0, 1]), `labels` the
 * n true class indices. `losses` is either the n per-example losses or their
 * sum; without it the loss added is the cross-entropy of the true class's
 * score, -ln(clip(p[y], 1e-7, 1)).
 */
export function addPredictions(
  summary: EvaluationSummary,
  probs: Float32Array,
  labels: Int32Array | number[],
  losses?: Float32Array | number,
): EvaluationSummary {
  const C = summary.classes.length;
  const n = labels.length;
  if (probs.length !== n * C) {
    throw new EvaluationError(`Expected ${n}×${C} = ${n * C} scores for ${n} labels and ${C} classes, but got ${probs.length}`);
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new EvaluationError(`Expected label ${i} to be a class index in 0…${C - 1}, but got ${y}`);
  }
  for (let k = 0; k < probs.length; k++) {
    const p = probs[k];
    if (!(p >= 0 && p <= 1)) {
      throw new EvaluationError(`Expected scores in [0, 1], but example ${Math.floor(k / C)} has ${p} for class ${summary.classes[k % C]}`);
    }
  }
  let lossSum = 0;
  if (typeof losses === 'number') {
    if (!(Number.isFinite(losses) && losses >= 0)) throw new EvaluationError(`Expected a finite non-negative loss sum, but got ${losses}`);
    lossSum = losses;
  } else if (losses !== undefined) {
    if (losses.length !== n) throw new EvaluationError(`Expected ${n} per-example losses, but got ${losses.length}`);
    for (let i = 0; i < n; i++) {
      const l = losses[i];
      if (!(Number.isFinite(l) && l >= 0)) throw new EvaluationError(`Expected finite non-negative losses, but example ${i} has ${l}`);
      lossSum += l;
    }
  } else {
    for (let i = 0; i < n; i++) lossSum -= Math.log(Math.max(EPSILON, probs[i * C + labels[i]]));
  }

  const { bins, confusion, histograms, calibration } = summary;
  const calBins = calibration.count.length;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    let top = 0;
    for (let c = 0; c < C; c++) {
      const p = probs[i * C + c];
      if (p > probs[i * C + top]) top = c;
      histograms[c][c === y ? 1 : 0][scoreBin(p, bins)] += 1;
    }
    confusion[y][top] += 1;
    const confidence = probs[i * C + top];
    const cb = calibrationBin(confidence, calBins);
    calibration.count[cb] += 1;
    calibration.confidenceSum[cb] += confidence;
    if (top === y) calibration.correct[cb] += 1;
  }
  summary.count += n;
  summary.lossSum += lossSum;
  return summary;
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * Checks that a summary (say, one that arrived over the wire) is consistent
 * with itself: shapes follow from the classes and bins, and the counts agree.
 * Throws EvaluationError naming the first thing that is off.
 */
export function checkSummary(s: EvaluationSummary, label = 'summary'): void {
  const C = s.classes?.length ?? 0;
  const fail = (what: string): never => {
    throw new EvaluationError(`${label}: ${what}`);
  };
  if (C < 2) fail(`expected at least 2 classes, but got ${C}`);
  if (!isCount(s.count)) fail(`expected count to be a non-negative integer, but got ${s.count}`);
  if (!(Number.isFinite(s.lossSum) && s.lossSum >= 0)) fail(`expected lossSum to be finite and non-negative, but got ${s.lossSum}`);
  if (!Number.isInteger(s.bins) || s.bins < 1) fail(`expected bins to be a positive integer, but got ${s.bins}`);
  if (s.confusion?.length !== C || s.confusion.some((row) => row.length !== C || !row.every(isCount))) {
    fail(`expected confusion to be ${C}×${C} counts`);
  }
  let total = 0;
  for (const row of s.confusion) for (const v of row) total += v;
  if (total !== s.count) fail(`confusion matrix holds ${total} examples but count says ${s.count}`);
  if (s.histograms?.length !== C) fail(`expected ${C} class histograms, but got ${s.histograms?.length}`);
  for (let c = 0; c < C; c++) {
    const h = s.histograms[c];
    if (h.length !== 2 || h.some((side) => side.length !== s.bins || !side.every(isCount))) {
      fail(`expected histograms[${c}] to be 2×${s.bins} counts`);
    }
    const positives = h[1].reduce((a, v) => a + v, 0);
    const negatives = h[0].reduce((a, v) => a + v, 0);
    const support = s.confusion[c].reduce((a, v) => a + v, 0);
    if (positives !== support || positives + negatives !== s.count) {
      fail(`histograms[${c}] holds ${positives} positives and ${negatives} negatives, but the confusion matrix has ${support} of ${s.count}`);
    }
  }
  const cal = s.calibration;
  const k = cal?.count?.length ?? 0;
  if (k < 1 || cal.confidenceSum?.length !== k || cal.correct?.length !== k) {
    fail('expected calibration count, confidenceSum and correct of one equal, non-zero length');
  }
  if (!cal.count.every(isCount) || !cal.correct.every(isCount) || !cal.confidenceSum.every((v) => Number.isFinite(v) && v >= 0)) {
    fail('expected calibration to hold non-negative counts and sums');
  }
  const calTotal = cal.count.reduce((a, v) => a + v, 0);
  if (calTotal !== s.count) fail(`calibration holds ${calTotal} examples but count says ${s.count}`);
  // Each bin's examples bound how many were right and their summed confidence (each at most 1).
  const over = cal.count.findIndex((n, b) => cal.correct[b] > n || cal.confidenceSum[b] > n * (1 + 1e-9));
  if (over >= 0) fail(`calibration bin ${over} holds ${cal.count[over]} examples, but ${cal.correct[over]} right and a confidence sum of ${cal.confidenceSum[over]}`);
  const right = cal.correct.reduce((a, v) => a + v, 0);
  const diagonal = s.confusion.reduce((a, row, c) => a + row[c], 0);
  if (right !== diagonal) fail(`calibration counts ${right} right predictions, but the confusion matrix's diagonal ${diagonal}`);
}

/**
 * Adds summaries up: the result is exactly the summary of the pooled
 * predictions. Refuses summaries over different classes (or class order),
 * bin counts or calibration bins.
 */
export function mergeSummaries(summaries: EvaluationSummary[]): EvaluationSummary {
  if (summaries.length === 0) throw new EvaluationError('Expected at least one summary to merge, but got none');
  const first = summaries[0];
  summaries.forEach((s, i) => checkSummary(s, `summary ${i}`));
  const calBins = first.calibration.count.length;
  const out = createSummary(first.classes, { bins: first.bins, calibrationBins: calBins });
  summaries.forEach((s, i) => {
    if (s.classes.length !== first.classes.length || s.classes.some((c, k) => c !== first.classes[k])) {
      throw new EvaluationError(
        `Cannot merge summary ${i}: expected classes [${first.classes.join(', ')}] in that order, but got [${s.classes.join(', ')}]`,
      );
    }
    if (s.bins !== first.bins) throw new EvaluationError(`Cannot merge summary ${i}: expected ${first.bins} bins, but got ${s.bins}`);
    if (s.calibration.count.length !== calBins) {
      throw new EvaluationError(`Cannot merge summary ${i}: expected ${calBins} calibration bins, but got ${s.calibration.count.length}`);
    }
    out.count += s.count;
    out.lossSum += s.lossSum;
    s.confusion.forEach((row, t) => row.forEach((v, p) => (out.confusion[t][p] += v)));
    s.histograms.forEach((h, c) => h.forEach((side, t) => side.forEach((v, b) => (out.histograms[c][t][b] += v))));
    for (let b = 0; b < calBins; b++) {
      out.calibration.count[b] += s.calibration.count[b];
      out.calibration.confidenceSum[b] += s.calibration.confidenceSum[b];
      out.calibration.correct[b] += s.calibration.correct[b];
    }
  });
  return out;
}
