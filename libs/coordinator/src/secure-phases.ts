// Calibration and evaluation under secure aggregation: each hospital's
// BatchNorm statistics, or its evaluation summary, goes into one secure sum,
// so the coordinator learns the pooled statistics and the pooled summary
// only, never one hospital's. The sums are checked as far as a sum can be:
// image counts within what the hospitals declared, finite values, a summary
// whose counts agree with each other.
import { SumCalibrateResultSchema, SumEvaluateResultSchema, encodeWeights, type NamedWeights, type SumCalibrateResult, type SumEvaluateResult } from '@fedxray/protocol';
import { DEFAULT_BINS, DEFAULT_CALIBRATION_BINS, checkSummary, type EvaluationSummary } from '@fedxray/evaluation';
import { applyBatchNormStats, batchNormChannels, varianceNameOf } from '@fedxray/model';
import { calibrationSumLayout, evaluationSumLayout, unpackCalibration, unpackEvaluation, type SumLayout } from '@fedxray/secure';
import type { Connection, Verdict } from './jobs';
import { pooledMetrics, type CalibrationPhase, type Evaluation, type EvaluationPhase } from './phase-types';
import { runSum, summedAnswer, sumPlan } from './secure-sum';

const parseSumCalibrate = summedAnswer<SumCalibrateResult>(SumCalibrateResultSchema, 'stats', 'This run uses secure aggregation: BatchNorm statistics in the clear are refused', 'calibrateResult');
const parseSumEvaluate = summedAnswer<SumEvaluateResult>(SumEvaluateResultSchema, 'summary', 'This run uses secure aggregation: an evaluation summary in the clear is refused', 'evaluateResult');

/**
 * The calibration phase as one secure sum: `names` are the statistics to
 * pool. Returns the global weights with the pooled statistics in, or, when
 * the sum fails or too many hospitals fail, with the averaged ones kept.
 */
export async function secureCalibrate(p: CalibrationPhase, round: number, attempt: number, global: NamedWeights, targets: Connection[], names: ReadonlySet<string>, timeoutMs: number): Promise<{ weights: NamedWeights; calibratedBy: string[] }> {
  const cfg = p.config.batchNormCalibration;
  const log = p.recorder.logger;
  const keep = (why: string) => {
    log.log('warn', `BatchNorm calibration: ${why}; keeping the averaged statistics`, { round });
    return { weights: global, calibratedBy: [] };
  };
  const means = p.manifest.filter((t) => names.has(t.name) && t.name.endsWith('/moving_mean')).map((t) => t.name);
  // the reference every hospital packs against: the global model's own statistics
  const reference = batchNormChannels(global, means);
  const layout = calibrationSumLayout({ channels: reference.mean.length, maxExamples: cfg.maxExamples, maxSummands: targets.length });
  const summed = await summedCalibration(p, round, attempt, global, targets, timeoutMs, { phase: 'calibrate', what: 'calibrations', layout, maxExamples: cfg.maxExamples, parse: parseSumCalibrate, ask: { means } });
  if (!summed.ok) return keep(summed.error);
  const { declared, by: answered } = summed;
  let pooled;
  try {
    pooled = unpackCalibration(layout, reference, summed.sum, summed.summands);
  } catch (err) {
    return keep(`the summed statistics are refused: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (pooled.examples > declared) return keep(`the summed statistics cover ${pooled.examples} images, more than the ${declared} the hospitals may calibrate on`);
  for (let c = 0; c < pooled.mean.length; c++) {
    if (!Number.isFinite(pooled.mean[c]) || !Number.isFinite(pooled.variance[c])) return keep(`the summed statistics are not finite at channel ${c}`);
  }
  if (pooled.clipped > 0) log.log('warn', 'BatchNorm calibration: statistics outside the secure sum’s range were clipped', { round, values: pooled.clipped });
  const stats: NamedWeights = [];
  let at = 0;
  for (const name of means) {
    const t = p.manifest.find((m) => m.name === name)!;
    const length = t.shape.reduce((a, b) => a * b, 1);
    stats.push({ name, shape: [...t.shape], values: Float32Array.from(pooled.mean.subarray(at, at + length)) });
    stats.push({ name: varianceNameOf(name), shape: [...t.shape], values: Float32Array.from(pooled.variance.subarray(at, at + length)) });
    at += length;
  }
  const frozen = p.frozen ?? new Set<string>();
  log.log('info', 'BatchNorm statistics recalibrated', { round, hospitals: answered, examples: pooled.examples, pooling: 'exact (secure sum)' });
  return { weights: applyBatchNormStats(global, stats.filter((t) => !frozen.has(t.name))), calibratedBy: answered };
}

/**
 * One calibration phase (BatchNorm statistics or the head's class statistics)
 * as a secure sum over `targets`: each hospital is asked with `ask` beside its
 * place in the sum. Returns the sum, who answered and the most images it may
 * cover (what the hospitals declared, each capped at `maxExamples`), or why
 * the phase keeps what it has: fewer than 2 hospitals, a failed sum, or more
 * failed jobs than maxFailures.
 */
export async function summedCalibration(
  p: CalibrationPhase,
  round: number,
  attempt: number,
  global: NamedWeights,
  targets: Connection[],
  timeoutMs: number,
  o: { phase: 'calibrate' | 'calibrate-head'; what: string; layout: SumLayout; maxExamples: number; parse: (raw: unknown) => Verdict<SumCalibrateResult>; ask: { means?: string[]; target?: 'head' } },
): Promise<{ ok: true; sum: Uint32Array; summands: number; by: string[]; declared: number } | { ok: false; error: string }> {
  if (targets.length < 2) return { ok: false, error: `secure aggregation needs at least 2 hospitals, ${targets.length} can calibrate` };
  const session = `${p.runId}/r${round}/a${attempt}/${o.phase}`;
  const weights = encodeWeights(global);
  const summed = await runSum<SumCalibrateResult, null>(p, targets, {
    kind: 'calibrate',
    round,
    attempt,
    session,
    layout: o.layout,
    masked: true,
    plan: sumPlan(p.config, targets.length, session),
    timeoutMs,
    send: (conn, index) => conn.socket.emit('calibrate', { runId: p.runId, round, maxExamples: o.maxExamples, weights, ...(o.ask.target ? { target: o.ask.target } : {}), secure: { session, index, layout: o.layout.toWire(), ...(o.ask.means ? { means: o.ask.means } : {}) } }),
    parse: o.parse,
    value: () => null,
  });
  if (!summed.ok) return { ok: false, error: summed.error };
  const by = [...summed.results].filter(([, r]) => r.ok).map(([n]) => n).sort();
  const failed = summed.results.size - by.length;
  if (failed > p.config.maxFailures) return { ok: false, error: `${failed} ${o.what} failed, more than maxFailures=${p.config.maxFailures}` };
  const declared = targets.reduce((s, c) => s + Math.min(o.maxExamples, c.hello?.examples.train ?? 0), 0);
  return { ok: true, sum: summed.sum, summands: summed.summands, by, declared };
}

/**
 * The global model's metrics over every site's `split` as one secure sum:
 * the pooled summary only (no per-site metrics). Under the round's k of n,
 * as `evaluate`; never throws for what hospitals sent.
 */
export async function secureEvaluate(p: EvaluationPhase, round: number, attempt: number, split: 'val' | 'test', weights: NamedWeights): Promise<Evaluation> {
  const none = { metrics: null, pooled: null, summaries: new Map<string, EvaluationSummary>(), sites: {} };
  const targets = p.hub.ready().filter((c) => !p.silent?.has(c.name));
  if (targets.length === 0) return { ...none, error: 'no hospital was connected to evaluate' };
  if (targets.length < 2) return { ...none, error: `secure aggregation needs at least 2 hospitals, ${targets.length} can evaluate` };
  const declared = targets.map((c) => c.hello?.examples[split] ?? 0);
  const session = `${p.runId}/r${round}/a${attempt}/evaluate-${split}`;
  const layout = evaluationSumLayout({ classes: p.classes.length, bins: DEFAULT_BINS, calibrationBins: DEFAULT_CALIBRATION_BINS, maxExamples: Math.max(1, ...declared), maxSummands: targets.length });
  const payload = encodeWeights(weights, { dtype: p.config.fit.weightsDtype });
  const summed = await runSum<SumEvaluateResult, null>(p, targets, {
    kind: 'evaluate',
    round,
    attempt,
    session,
    layout,
    masked: true,
    plan: sumPlan(p.config, targets.length, session),
    timeoutMs: p.timeoutMs,
    send: (conn, index) => conn.socket.emit('evaluate', { runId: p.runId, round, split, weights: payload, secure: { session, index, layout: layout.toWire() } }),
    parse: parseSumEvaluate,
    // a late answer to the previous evaluation of the round (its other split) is stale, not wrong
    answers: (msg) => msg.split === split,
    value: () => null,
  });
  if (!summed.ok) return { ...none, error: summed.error };
  const failed = [...summed.results.values()].filter((o) => !o.ok).length;
  if (failed > p.config.maxFailures) return { ...none, error: `${failed} of ${targets.length} evaluations failed, more than maxFailures=${p.config.maxFailures}` };
  try {
    const pooled = unpackEvaluation(layout, [...p.classes], summed.sum, summed.summands) as EvaluationSummary;
    checkSummary(pooled, 'the summed summary');
    const most = declared.reduce((a, b) => a + b, 0);
    if (pooled.count > most) throw new Error(`it counts ${pooled.count} ${split} images, more than the ${most} the hospitals declared`);
    if (pooled.count === 0) return { ...none, error: `no hospital holds ${split} images` };
    return { metrics: pooledMetrics(pooled), pooled, summaries: new Map(), sites: {} };
  } catch (err) {
    return { ...none, error: `the summed evaluation is refused: ${err instanceof Error ? err.message : String(err)}` };
  }
}
