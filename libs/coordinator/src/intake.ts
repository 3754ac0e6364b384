// Every result a hospital sends, checked where it arrives with the owning
// library's checks (protocol: schema and weights; evaluation: summaries;
// calibration: BatchNorm reports) and turned into a typed value.
import {
  CalibrateResultSchema,
  EvaluateResultSchema,
  FitResultSchema,
  ProtocolError,
  SumCalibrateResultSchema,
  SumEvaluateResultSchema,
  SumFitResultSchema,
  decodeWeights,
  describeZodError,
  validateWeights,
  type CalibrateResult,
  type EvaluateResult,
  type FitResult,
  type NamedWeights,
  type WeightsPayload,
  type WireError,
} from '@fedxray/protocol';
import { EvaluationError, checkSummary, computeMetrics, type EvaluationSummary } from '@fedxray/evaluation';
import { ModelError, batchNormStatNames, checkBatchNormReport, headStatsFromNamed, type BatchNormStatsReport, type HeadStats } from '@fedxray/model';
import { AggregationError } from '@fedxray/aggregation';
import type { JobKind, Verdict } from './jobs';

/** A refusal for the acknowledgement: ProtocolError keeps its code, anything else gets `fallback`. */
export function wireError(err: unknown, fallback: WireError['code'] = 'internal'): WireError {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  if (err instanceof EvaluationError) return { code: 'bad_message', message: err.message };
  // A BatchNorm statistics report that fails its checks is bad numbers, as a bad update is;
  // an image count beyond what the hospital declared is a bad message, as an update's is.
  if (err instanceof ModelError && err.code !== 'invalid') return { code: SAME_CODES.has(err.code) ? (err.code as WireError['code']) : err.code === 'bad_examples' ? 'bad_message' : 'bad_weights', message: err.message };
  // The strategy's own refusal at accumulate (a value that is not finite, a shape it cannot take).
  if (err instanceof AggregationError) return { code: SAME_CODES.has(err.code) ? (err.code as WireError['code']) : 'bad_weights', message: err.message };
  return { code: fallback, message: err instanceof Error ? err.message : String(err) };
}

/** Codes the model's and the aggregation library's checks share with the wire's. */
const SAME_CODES: ReadonlySet<string> = new Set(['not_finite', 'shape_mismatch']);

function schema<M>(check: { safeParse(raw: unknown): { success: true; data: M } | { success: false; error: Parameters<typeof describeZodError>[0] } }, what: string) {
  return (raw: unknown): Verdict<M> => {
    const r = check.safeParse(raw);
    return r.success ? { ok: true, value: r.data } : { ok: false, error: { code: 'bad_message', message: `Bad ${what}: ${describeZodError(r.error)}` } };
  };
}

export const parseFitResult = schema<FitResult>(FitResultSchema, 'fitResult');
export const parseEvaluateResult = schema<EvaluateResult>(EvaluateResultSchema, 'evaluateResult');
export const parseCalibrateResult = schema<CalibrateResult>(CalibrateResultSchema, 'calibrateResult');

type RunRound = { runId: string; round: number };

/** The plain check, or else the summed one (a secure run's answers); the plain one's refusal when neither fits. */
function plainOrSummed(plain: (raw: unknown) => Verdict<RunRound>, summed: (raw: unknown) => Verdict<RunRound>) {
  return (raw: unknown): Verdict<RunRound> => {
    const p = plain(raw);
    if (p.ok) return p;
    const s = summed(raw);
    return s.ok ? s : p;
  };
}

/** The schema check of each kind of result, plain or summed (what a stray message is checked against). */
export const RESULT_SCHEMAS: Record<JobKind, (raw: unknown) => Verdict<RunRound>> = {
  fit: plainOrSummed(parseFitResult, schema(SumFitResultSchema, 'fitResult')),
  evaluate: plainOrSummed(parseEvaluateResult, schema(SumEvaluateResultSchema, 'evaluateResult')),
  calibrate: plainOrSummed(parseCalibrateResult, schema(SumCalibrateResultSchema, 'calibrateResult')),
};

/**
 * The most examples an update may claim: the distinct training images the
 * hospital declared in hello, capped by the round's maxExamplesPerEpoch (when
 * set). An update's count is the number of distinct images it trained on, not
 * multiplied by local epochs.
 */
export function maxFitExamples(declaredTrain: number, maxExamplesPerEpoch: number): number {
  return maxExamplesPerEpoch > 0 ? Math.min(declaredTrain, maxExamplesPerEpoch) : declaredTrain;
}

export interface UpdateLimits {
  /** Names and shapes of the global model, in order. */
  manifest: { name: string; shape: number[] }[];
  /** Tensors hospitals keep (FedBN): may be left out. */
  keepLocal: ReadonlySet<string>;
  /** The training images the hospital declared in hello. */
  declaredTrain: number;
  /** The round's cap on images per epoch (0: none). */
  maxExamplesPerEpoch: number;
  /** Refuse updates whose trainable weights are farther (L2) than this from `global`'s (BatchNorm moving statistics are not counted). */
  maxNorm?: number;
  global: NamedWeights;
  /** Where to decode each tensor (the strategy's own memory), when it offers it. */
  into?: (name: string) => Float32Array | undefined;
}

/**
 * An update's weights, decoded and checked: example count within bounds,
 * CRC-32, names, shapes, finite values, and the norm of the change of its
 * trainable weights. BatchNorm moving statistics are left out of the norm:
 * they are not trained but measured, they move with the data (an honest
 * update's may differ from the global's by hundreds), and what hospitals say
 * of them is pooled and checked at calibration. Throws ProtocolError.
 */
export function checkUpdate(msg: FitResult, limits: UpdateLimits): NamedWeights {
  const most = maxFitExamples(limits.declaredTrain, limits.maxExamplesPerEpoch);
  if (msg.examples > most) {
    const cap = limits.maxExamplesPerEpoch > 0 ? ` and the round allows ${limits.maxExamplesPerEpoch} per epoch` : '';
    throw new ProtocolError(
      'bad_message',
      `An update claiming ${msg.examples} examples is refused: the hospital declared ${limits.declaredTrain} training images${cap}, so it trained on at most ${most}`,
    );
  }
  const weights = decodeWeights(msg.weights as WeightsPayload, limits.into);
  validateWeights(limits.manifest, weights, { optional: limits.keepLocal, maxNorm: limits.maxNorm, reference: limits.maxNorm ? trainable(limits.global) : undefined });
  return weights;
}

/** The weights without the BatchNorm moving statistics. */
function trainable(weights: NamedWeights): NamedWeights {
  const stats = new Set(batchNormStatNames(weights));
  return weights.filter((t) => !stats.has(t.name));
}

/**
 * An evaluation summary, checked: the split asked for, the run's classes in
 * order, consistent counts (evaluation's checkSummary), at most the images the
 * hospital declared for that split, and metrics that can be computed from it.
 * Throws ProtocolError or EvaluationError.
 */
export function checkEvaluation(msg: EvaluateResult, expected: { classes: string[]; split: 'val' | 'test'; maxExamples: number }): EvaluationSummary {
  const s = msg.summary as EvaluationSummary;
  if (msg.split !== expected.split) throw new ProtocolError('bad_message', `Expected a summary of the ${expected.split} split, but got one of ${msg.split}`);
  if (s.classes.join('\u0000') !== expected.classes.join('\u0000')) {
    throw new ProtocolError('bad_message', `Expected a summary over the classes [${expected.classes.join(', ')}] in this order, but got [${s.classes.join(', ')}]`);
  }
  checkSummary(s, 'summary');
  if (s.count > expected.maxExamples) {
    throw new ProtocolError('bad_message', `Expected at most ${expected.maxExamples} ${expected.split} images (what the hospital declared), but the summary counts ${s.count}`);
  }
  if (s.count > 0) computeMetrics(s);
  return s;
}

/** A calibration report, decoded and checked (see checkBatchNormReport). Throws ProtocolError. */
export function checkCalibration(msg: CalibrateResult, manifest: { name: string; shape: number[] }[], maxExamples: number): BatchNormStatsReport {
  const report = { examples: msg.examples, stats: decodeWeights(msg.stats as WeightsPayload) };
  checkBatchNormReport(manifest, report, { maxExamples });
  return report;
}

/**
 * A head-calibration report, decoded and checked: the three class-statistics
 * tensors of the run's classes and last-layer width, finite, whole counts that
 * add up to the images reported, at most `maxExamples` (what the hospital
 * declared, capped by the phase). Throws ProtocolError.
 */
export function checkHeadCalibration(msg: CalibrateResult, expected: { classes: number; features: number; maxExamples: number }): HeadStats {
  let stats: HeadStats;
  try {
    stats = headStatsFromNamed(decodeWeights(msg.stats as WeightsPayload), expected.classes, expected.features, expected.maxExamples);
  } catch (err) {
    throw new ProtocolError('bad_message', `Head statistics refused: ${err instanceof Error ? err.message : String(err)}`);
  }
  const total = stats.counts.reduce((a, b) => a + b, 0);
  if (total !== msg.examples) throw new ProtocolError('bad_message', `Head statistics refused: the class counts add up to ${total} images, but the report says ${msg.examples}`);
  return stats;
}
