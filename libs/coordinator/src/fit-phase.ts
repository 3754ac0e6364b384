// The fit phase: each sampled hospital trains on the global model; every update
// is checked as it arrives and folded into the strategy at once.
import { encodeWeights, type FitConfig, type FitResult, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';
import type { Strategy } from '@fedxray/aggregation';
import type { CoordinatorConfig } from './config';
import type { Hub } from './hub';
import { checkUpdate, parseFitResult, wireError } from './intake';
import { localLossOf } from './run-config';
import type { Connection, JobOutcome, JobSpec } from './jobs';
import type { Recorder } from './record';
import type { RunFiles } from './run-files';
import type { FitRecord, SiteRoundMetrics } from './state';
import type { PhaseCounters } from './view';

/** What the round keeps of an accepted update (its weights went into the strategy). */
export interface AcceptedUpdate {
  examples: number;
  /** Absent when the hospital withholds its training numbers. */
  metrics?: { loss: number; accuracy: number };
  durationMs: number;
}

export interface FitPhase {
  runId: string;
  config: CoordinatorConfig;
  strategy: Strategy;
  global: NamedWeights;
  /** Names and shapes of the tensors an update carries: the global model's, less the round's frozen ones. */
  manifest: { name: string; shape: number[] }[];
  keepLocal: ReadonlySet<string>;
  /** What trains this round (`all`, `head`, `from:<layer>`); absent: the model as built. */
  trainable?: string;
  hub: Hub;
  recorder: Recorder;
  files: RunFiles;
  counters: PhaseCounters;
}

/** The instructions every hospital of the round trains with. */
export function fitInstructions(p: FitPhase, round: number): FitConfig {
  const cfg = p.config;
  return {
    localEpochs: cfg.fit.localEpochs,
    batchSize: cfg.fit.batchSize,
    learningRate: cfg.fit.learningRate,
    proximalMu: p.strategy.fitConfig(round).proximalMu ?? 0,
    keepLocal: [...p.keepLocal],
    weightsDtype: cfg.fit.weightsDtype,
    maxExamplesPerEpoch: cfg.fit.maxExamplesPerEpoch,
    seed: cfg.seed * 1000 + round,
    // resolveConfig fills it in; a config built some other way gets the same default
    localLoss: localLossOf(cfg),
    ...(p.trainable ? { trainable: p.trainable } : {}),
  };
}

/** Sends each hospital `fit`; takes each update through the checks into the strategy. */
export function fitJob(p: FitPhase, round: number, attempt: number, settled: (name: string, outcome: JobOutcome<AcceptedUpdate>) => void): JobSpec<FitResult, AcceptedUpdate> {
  const config = fitInstructions(p, round);
  const weights = encodeWeights(p.global, { dtype: p.config.fit.weightsDtype });
  return {
    kind: 'fit',
    round,
    attempt,
    send: (conn) => {
      p.counters.bytesSent += weights.byteLength;
      conn.socket.emit('fit', { runId: p.runId, round, config, weights });
    },
    parse: parseFitResult,
    accept: (conn, msg) => acceptUpdate(p, conn, msg),
    settled,
  };
}

function acceptUpdate(p: FitPhase, conn: Connection, msg: FitResult): ReturnType<JobSpec<FitResult, AcceptedUpdate>['accept']> {
  p.counters.bytesReceived += msg.weights.data.byteLength;
  const events = p.recorder.events;
  try {
    // Straight into the strategy's memory when it offers it (no copy at
    // accumulate), unless 'update' listeners will keep the arrays.
    const into = events.listenerCount('update') === 0 ? p.strategy.intake() : null;
    const weights = checkUpdate(msg, {
      manifest: p.manifest,
      keepLocal: p.keepLocal,
      declaredTrain: conn.hello?.examples.train ?? 0,
      maxExamplesPerEpoch: p.config.fit.maxExamplesPerEpoch,
      maxNorm: p.config.maxUpdateNorm,
      global: p.global,
      into: into ? (name) => into.get(name) : undefined,
    });
    if (events.listenerCount('update') > 0) p.recorder.emit(['update', { round: msg.round, hospital: conn.name, examples: msg.examples, weights }]);
    p.strategy.accumulate({ hospitalId: conn.name, examples: msg.examples, weights });
    if (p.config.crossSiteEvaluation && msg.round === p.config.rounds) p.files.keepLocalModel(conn.name, msg.weights as WeightsPayload);
  } catch (err) {
    // written down (update_refused, counted) where the job fails
    return { ok: false, error: wireError(err, 'bad_weights') };
  }
  p.counters.updatesAccepted++;
  const st = p.hub.hospital(conn.name);
  if (msg.metrics) {
    st.lastLoss = msg.metrics.loss;
    st.lastAccuracy = msg.metrics.accuracy;
  }
  p.recorder.emit(['fitResult', { round: msg.round, hospital: conn.name, ok: true, metrics: msg.metrics, examples: msg.examples }]);
  return { ok: true, value: { examples: msg.examples, metrics: msg.metrics, durationMs: msg.durationMs } };
}

function meanBy(items: { examples: number; value: number }[]): number {
  const n = items.reduce((s, i) => s + i.examples, 0);
  return n === 0 ? NaN : items.reduce((s, i) => s + i.value * i.examples, 0) / n;
}

/** The fit phase's record, before aggregation says whose updates were used. */
export function fitRecord(results: Map<string, JobOutcome<AcceptedUpdate>>): { fit: FitRecord; fitSites: Record<string, SiteRoundMetrics> } {
  const ordered = [...results].sort(([a], [b]) => a.localeCompare(b));
  const ok: [string, AcceptedUpdate][] = [];
  const failures: { name: string; error: string }[] = [];
  for (const [name, r] of ordered) {
    if (r.ok) ok.push([name, r.value]);
    else failures.push({ name, error: r.error });
  }
  // Training loss and accuracy of the hospitals that report them (a hospital may withhold its own).
  const reported = ok.filter((e): e is [string, AcceptedUpdate & { metrics: { loss: number; accuracy: number } }] => e[1].metrics !== undefined);
  return {
    fit: {
      loss: meanBy(reported.map(([, r]) => ({ examples: r.examples, value: r.metrics.loss }))),
      accuracy: meanBy(reported.map(([, r]) => ({ examples: r.examples, value: r.metrics.accuracy }))),
      examples: ok.reduce((s, [, r]) => s + r.examples, 0),
      hospitals: ok.map(([n]) => n),
      used: [],
      discarded: [],
      failures,
    },
    fitSites: Object.fromEntries(reported.map(([n, r]) => [n, { examples: r.examples, loss: r.metrics.loss, accuracy: r.metrics.accuracy }])),
  };
}
