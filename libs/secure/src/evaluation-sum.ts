// An evaluation summary as one secure sum. Summaries are sums already (the
// pooled summary of several sites is their element-wise sum): counts go into
// count segments exactly, the two real sums (the loss and each calibration
// bin's confidence) into fixed point.
import type { EvaluationSummaryWire } from '@fedxray/protocol';
import { SecureError } from './errors';
import { SumLayout, maxCount } from './layout';
import type { RandomSource } from './random';

/** Each example's loss is at most this in the summed loss (−log of the smallest probability the evaluation uses is far below it). */
export const EVALUATION_LOSS_CAP = 100;

/** The sums an evaluation summary holds (the protocol's summary: @fedxray/evaluation's EvaluationSummary on the wire). */
export type SummarySums = EvaluationSummaryWire;

export interface EvaluationSumOptions {
  classes: number;
  /** Score histogram bins per class. */
  bins: number;
  /** Bins of the top score for calibration. */
  calibrationBins: number;
  /** Most examples one hospital may evaluate, capped at maxCount(maxSummands). */
  maxExamples: number;
  /** Most hospitals in one sum. */
  maxSummands: number;
}

/** [count | confusion | histograms | calibration count, correct | confidence sums (reals) | loss sum (real)]. */
export function evaluationSumLayout(o: EvaluationSumOptions): SumLayout {
  const { classes: k, bins, calibrationBins: cb } = o;
  if (!Number.isInteger(k) || k < 2 || !Number.isInteger(bins) || bins < 1 || !Number.isInteger(cb) || cb < 1) {
    throw new SecureError('bad_config', `Expected ≥ 2 classes and ≥ 1 bins, got ${k} classes, ${bins} bins, ${cb} calibration bins`);
  }
  const max = Math.min(maxCount(o.maxSummands), Math.max(1, o.maxExamples));
  return new SumLayout(
    [
      { name: 'count', kind: 'count', length: 1, max },
      { name: 'confusion', kind: 'count', length: k * k, max },
      { name: 'histograms', kind: 'count', length: k * 2 * bins, max },
      { name: 'calibrationCount', kind: 'count', length: cb, max },
      { name: 'calibrationCorrect', kind: 'count', length: cb, max },
      { name: 'confidenceSum', kind: 'real', length: cb, range: max },
      { name: 'lossSum', kind: 'real', length: 1, range: max * EVALUATION_LOSS_CAP },
    ],
    o.maxSummands,
  );
}

function dims(layout: SumLayout): { k: number; bins: number; cb: number } {
  const k = Math.round(Math.sqrt(layout.spec('confusion').length));
  const cb = layout.spec('calibrationCount').length;
  return { k, bins: layout.spec('histograms').length / (2 * k), cb };
}

/** One hospital's summary as words. Refuses a summary of another shape than the layout's. */
export function packEvaluation(layout: SumLayout, s: SummarySums, random: RandomSource): Uint32Array {
  const { k, bins, cb } = dims(layout);
  if (s.classes.length !== k || s.bins !== bins || s.calibration.count.length !== cb) {
    throw new SecureError('wrong_length', `Expected a summary over ${k} classes, ${bins} bins and ${cb} calibration bins, got ${s.classes.length}, ${s.bins} and ${s.calibration.count.length}`);
  }
  const histograms: number[] = [];
  for (const perClass of s.histograms) for (const side of perClass) histograms.push(...side);
  return layout.pack(
    {
      count: [s.count],
      confusion: s.confusion.flat(),
      histograms,
      calibrationCount: s.calibration.count,
      calibrationCorrect: s.calibration.correct,
      confidenceSum: s.calibration.confidenceSum,
      lossSum: [Math.min(s.lossSum, s.count * EVALUATION_LOSS_CAP)],
    },
    random,
  );
}

/** The pooled summary from the sum of `summands` hospitals' vectors (to be checked by the caller as any summary). */
export function unpackEvaluation(layout: SumLayout, classes: string[], sum: Uint32Array, summands: number): SummarySums {
  const { k, bins } = dims(layout);
  if (classes.length !== k) throw new SecureError('bad_config', `Expected ${k} class names, got ${classes.length}`);
  const p = layout.unpack(sum, summands);
  const confusion = Array.from({ length: k }, (_, t) => Array.from(p.confusion.subarray(t * k, (t + 1) * k)));
  const histograms = Array.from({ length: k }, (_, c) => [0, 1].map((t) => Array.from(p.histograms.subarray((c * 2 + t) * bins, (c * 2 + t + 1) * bins))));
  const count = Array.from(p.calibrationCount);
  // Fixed point's rounding may put a real sum a step outside what its counts allow.
  const confidenceSum = Array.from(p.confidenceSum, (v, b) => Math.min(count[b], Math.max(0, v)));
  return {
    classes: [...classes],
    count: p.count[0],
    lossSum: Math.max(0, p.lossSum[0]),
    confusion,
    bins,
    histograms,
    calibration: { count, confidenceSum, correct: Array.from(p.calibrationCorrect) },
  };
}
