// The calibration phase: after aggregation, hospitals recompute the new global
// model's BatchNorm statistics on their own images; the valid reports are pooled.
import { encodeWeights, type CalibrateResult, type NamedWeights } from '@fedxray/protocol';
import { strategyInfo } from '@fedxray/aggregation';
import { applyBatchNormStats, batchNormStatNames, poolBatchNormStats, type BatchNormStatsReport, type PoolOptions } from '@fedxray/model';
import { checkCalibration, parseCalibrateResult } from './intake';
import type { JobOutcome, JobSpec } from './jobs';
import type { CalibrationPhase } from './phase-types';
import { secureCalibrate } from './secure-phases';

/**
 * How the hospitals' statistics are pooled under a strategy: exactly (the
 * statistics of all their images together) for the weighted means; robustly
 * for a strategy built to withstand lying hospitals, so that one hospital
 * cannot set the global statistics either: the trimmed mean with
 * FedTrimmedAvg's own β, else the coordinate-wise median.
 */
export function calibrationPooling(strategy: Record<string, unknown>): PoolOptions {
  const info = strategyInfo(String(strategy.name));
  if (!info.robust) return { pooling: 'exact' };
  const beta = strategy.beta ?? info.defaults.beta;
  return typeof beta === 'number' ? { pooling: 'trimmed-mean', trimFraction: beta } : { pooling: 'median' };
}

/** A phase's valid reports by hospital name (sorted, so pooling does not depend on arrival order), and how many jobs failed. */
export function byOutcome<T>(results: Map<string, JobOutcome<T>>): { reports: [string, T][]; failed: number } {
  const reports: [string, T][] = [];
  let failed = 0;
  for (const [name, r] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
    if (r.ok) reports.push([name, r.value]);
    else failed++;
  }
  return { reports, failed };
}

/**
 * The global weights with every connected hospital's BatchNorm statistics
 * pooled in, and who they came from; `timeoutMs` is the time the phase may
 * take from its start (its share of the round's deadline). Skipped (the weights returned as they
 * are) when calibration is off or every statistic stays local (FedBN). The
 * phase obeys the round's k of n: with more than maxFailures failed jobs, or
 * none valid, the averaged statistics are kept.
 */
export async function calibrate(
  p: CalibrationPhase,
  round: number,
  attempt: number,
  global: NamedWeights,
  timeoutMs: () => number,
  onStart: () => void,
): Promise<{ weights: NamedWeights; calibratedBy: string[] }> {
  const cfg = p.config.batchNormCalibration;
  const names = new Set(batchNormStatNames(p.manifest).filter((n) => !p.keepLocal.has(n)));
  const frozen = p.frozen ?? new Set<string>();
  if (!cfg.enabled || [...names].every((n) => frozen.has(n))) return { weights: global, calibratedBy: [] };
  onStart();
  const targets = p.hub.ready().filter((c) => !p.silent.has(c.name));
  // Under secure aggregation the statistics are summed: the coordinator sees the pooled ones only.
  if (p.config.secureAggregation.enabled) return secureCalibrate(p, round, attempt, global, targets, names, timeoutMs());
  const manifest = p.manifest.filter((t) => names.has(t.name));
  const weights = encodeWeights(global);
  const job: JobSpec<CalibrateResult, BatchNormStatsReport> = {
    kind: 'calibrate',
    round,
    attempt,
    send: (conn) => conn.socket.emit('calibrate', { runId: p.runId, round, maxExamples: cfg.maxExamples, weights, ...(p.trainable ? { trainable: p.trainable } : {}) }),
    parse: parseCalibrateResult,
    accept: (conn, msg) => {
      p.counters.bytesReceived += msg.stats.data.byteLength;
      const declared = conn.hello?.examples.train ?? 0;
      return { ok: true, value: checkCalibration(msg, manifest, Math.min(cfg.maxExamples, declared)) };
    },
  };
  const { reports, failed } = byOutcome(await p.hub.dispatch(targets, job, timeoutMs()));
  const log = p.recorder.logger;
  if (reports.length === 0 || failed > p.config.maxFailures) {
    const why = reports.length === 0 ? 'no hospital returned valid statistics' : `${failed} calibrations failed, more than maxFailures=${p.config.maxFailures}`;
    log.log('warn', `BatchNorm calibration: ${why}; keeping the averaged statistics`, { round });
    return { weights: global, calibratedBy: [] };
  }
  const pooling = calibrationPooling(p.config.strategy);
  const pooled = poolBatchNormStats(
    reports.map(([, r]) => r),
    pooling,
  );
  const calibratedBy = reports.map(([n]) => n);
  log.log('info', 'BatchNorm statistics recalibrated', { round, hospitals: calibratedBy, examples: reports.reduce((s, [, r]) => s + r.examples, 0), pooling: pooling.pooling });
  return { weights: applyBatchNormStats(global, pooled.filter((t) => !frozen.has(t.name))), calibratedBy };
}
