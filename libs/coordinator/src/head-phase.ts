// Head calibration: after BatchNorm calibration, hospitals send per class the
// count, Σf and Σ f fᵀ of what the last layer reads; the coordinator pools
// them and retrains the last layer on virtual features (CCVR; @fedxray/model's
// head-calibration). Averaging under label skew leaves the last layer ranking
// images well but with each class's threshold set by how many hospitals lack it.
import { SumCalibrateResultSchema, encodeWeights, type CalibrateResult, type NamedWeights, type SumCalibrateResult } from '@fedxray/protocol';
import { strategyInfo } from '@fedxray/aggregation';
import { HEAD_OUT_BIAS, HEAD_OUT_KERNEL, calibrateHeadWeights, headReference, poolHeadStats, type HeadStats } from '@fedxray/model';
import { headSumLayout, unpackHeadStats } from '@fedxray/secure';
import { byOutcome } from './calibrate';
import { checkHeadCalibration, parseCalibrateResult } from './intake';
import type { Connection, JobSpec } from './jobs';
import type { CalibrationPhase } from './phase-types';
import { summedCalibration } from './secure-phases';
import { summedAnswer } from './secure-sum';

/** Why head calibration does not run in this run, or null when it does. */
export function headCalibrationOff(p: Pick<CalibrationPhase, 'config'>): string | null {
  const c = p.config;
  if (!c.headCalibration.enabled) return 'turned off';
  if (c.dp) return 'differential privacy is on (the class statistics are not privatised, and the accountant does not count them)';
  const info = strategyInfo(String(c.strategy.name));
  if (info.robust) return `${info.name} is a robust strategy (one hospital's statistics could set the last layer)`;
  return null;
}

/**
 * The global weights with the last layer retrained on the pooled class
 * statistics of every connected hospital, and who they came from. Skipped
 * (the weights returned as they are) when the run has it off, in rounds
 * before the last unless `rounds` is `every`, or when the round did not train
 * the last layer. Obeys the round's k of n like BatchNorm
 * calibration: with more than maxFailures failed jobs, or none valid, the
 * averaged last layer is kept. A hospital's report is checked (names, shapes,
 * finite values, counts within what it declared) before it is pooled.
 */
export async function calibrateHead(
  p: CalibrationPhase,
  round: number,
  attempt: number,
  global: NamedWeights,
  timeoutMs: () => number,
  onStart: () => void,
): Promise<{ weights: NamedWeights; calibratedBy: string[] }> {
  const cfg = p.config.headCalibration;
  const kernel = global.find((t) => t.name === HEAD_OUT_KERNEL);
  const frozen = p.frozen ?? new Set<string>();
  const off = headCalibrationOff(p);
  // said once, where a run starts: a default that does not apply is not silent
  if (off && cfg.enabled && round === 1 && attempt === 1) p.recorder.logger.log('info', `Head calibration skipped in this run: ${off}`);
  if (off || (cfg.rounds === 'last' && round !== p.config.rounds) || !kernel || frozen.has(HEAD_OUT_KERNEL) || frozen.has(HEAD_OUT_BIAS) || p.keepLocal.has(HEAD_OUT_KERNEL)) return { weights: global, calibratedBy: [] };
  const [features, classes] = kernel.shape;
  onStart();
  const targets = p.hub.ready().filter((c) => !p.silent.has(c.name));
  const fit = (pooled: HeadStats, calibratedBy: string[], how: string) => {
    const output = p.config.model.output === 'sigmoid' ? 'sigmoid' : 'softmax';
    const started = performance.now();
    const calibrated = calibrateHeadWeights(global, pooled, { samplesPerClass: cfg.samplesPerClass, steps: cfg.steps, learningRate: cfg.learningRate, seed: p.config.seed * 1000 + round, output });
    // what is fitted is checked like anything that would enter the global model
    const bad = calibrated.find((t) => (t.name === HEAD_OUT_KERNEL || t.name === HEAD_OUT_BIAS) && !t.values.every(Number.isFinite));
    if (bad) return keepAveraged(p, round, `the fitted ${bad.name} is not finite`, global);
    const imagesPerClass = Array.from(pooled.counts);
    p.recorder.logger.log('info', 'last layer recalibrated on the pooled class statistics', { round, hospitals: calibratedBy, imagesPerClass, pooling: how, ms: Math.round(performance.now() - started) });
    return { weights: calibrated, calibratedBy };
  };
  // Under secure aggregation the statistics are summed: the coordinator sees the pooled ones only.
  if (p.config.secureAggregation.enabled) {
    const summed = await secureHeadStats(p, round, attempt, global, targets, { classes, features }, timeoutMs());
    return 'error' in summed ? keepAveraged(p, round, summed.error, global) : fit(summed.stats, summed.by, 'exact (secure sum)');
  }
  const weights = encodeWeights(global);
  const job: JobSpec<CalibrateResult, HeadStats> = {
    kind: 'calibrate',
    round,
    attempt,
    send: (conn) => conn.socket.emit('calibrate', { runId: p.runId, round, maxExamples: cfg.maxExamples, weights, target: 'head' }),
    parse: parseCalibrateResult,
    accept: (conn, msg) => {
      p.counters.bytesReceived += msg.stats.data.byteLength;
      const declared = conn.hello?.examples.train ?? 0;
      return { ok: true, value: checkHeadCalibration(msg, { classes, features, maxExamples: Math.min(cfg.maxExamples, declared) }) };
    },
  };
  const { reports, failed } = byOutcome(await p.hub.dispatch(targets, job, timeoutMs()));
  if (reports.length === 0 || failed > p.config.maxFailures) {
    return keepAveraged(p, round, reports.length === 0 ? 'no hospital returned valid class statistics' : `${failed} head calibrations failed, more than maxFailures=${p.config.maxFailures}`, global);
  }
  return fit(
    poolHeadStats(reports.map(([, r]) => r)),
    reports.map(([n]) => n),
    'exact',
  );
}

function keepAveraged(p: CalibrationPhase, round: number, why: string, global: NamedWeights): { weights: NamedWeights; calibratedBy: string[] } {
  p.recorder.logger.log('warn', `Head calibration: ${why}; keeping the averaged last layer`, { round });
  return { weights: global, calibratedBy: [] };
}

const parseSumHead = summedAnswer<SumCalibrateResult>(SumCalibrateResultSchema, 'stats', 'This run uses secure aggregation: class statistics in the clear are refused', 'calibrateResult');

/**
 * The hospitals' class statistics as one secure sum (@fedxray/secure's
 * head-sum, packed relative to the head BatchNorm's β and |γ|), checked as far
 * as a sum can be: image counts within what the hospitals declared, finite
 * values, non-negative sums of squares.
 */
async function secureHeadStats(
  p: CalibrationPhase,
  round: number,
  attempt: number,
  global: NamedWeights,
  targets: Connection[],
  shape: { classes: number; features: number },
  timeoutMs: number,
): Promise<{ stats: HeadStats; by: string[] } | { error: string }> {
  const cfg = p.config.headCalibration;
  const layout = headSumLayout({ ...shape, maxExamples: cfg.maxExamples, maxSummands: targets.length });
  const summed = await summedCalibration(p, round, attempt, global, targets, timeoutMs, { phase: 'calibrate-head', what: 'head calibrations', layout, maxExamples: cfg.maxExamples, parse: parseSumHead, ask: { target: 'head' } });
  if (!summed.ok) return { error: summed.error };
  const { by, declared } = summed;
  try {
    const pooled = unpackHeadStats(layout, headReference(global, shape.features), summed.sum, summed.summands);
    const total = pooled.counts.reduce((a, b) => a + b, 0);
    if (total > declared) throw new Error(`they cover ${total} images, more than the ${declared} the hospitals may calibrate on`);
    const bad = [pooled.sum, pooled.second].findIndex((a) => a.some((v) => !Number.isFinite(v)));
    if (bad >= 0) throw new Error(`the ${bad === 0 ? 'sums' : 'sums of products'} are not finite`);
    if (pooled.clipped > 0) p.recorder.logger.log('warn', 'Head calibration: class statistics outside the secure sum’s range were clipped', { round, values: pooled.clipped });
    return { stats: { ...shape, counts: pooled.counts, sum: pooled.sum, second: pooled.second }, by };
  } catch (err) {
    return { error: `the summed class statistics are refused: ${err instanceof Error ? err.message : String(err)}` };
  }
}
