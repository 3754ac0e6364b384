// The round engine: waits for hospitals, samples them, runs each round's fit,
// aggregation, calibration and evaluation under deadlines and k of n, commits
// every round, and ends the run.
import type { NamedWeights } from '@fedxray/protocol';
import type { Strategy } from '@fedxray/aggregation';
import { mergeSummaries } from '@fedxray/evaluation';
import type { ModelSpec, ScheduleEntry } from '@fedxray/model';
import { isDiskFull, plural } from '@fedxray/runtime';
import { finishRound } from './aggregate';
import { calibrate } from './calibrate';
import { calibrateHead } from './head-phase';
import { RoundDeadline } from './deadline';
import type { CoordinatorConfig } from './config';
import { duration, recordDiskFull } from './disk-full';
import { collectSummaries, crossSite, evaluate, type EvaluationPhase } from './evaluate';
import type { AggregationRecord, RunResult } from './events';
import { fitJob, fitRecord, type FitPhase } from './fit-phase';
import { unansweredBy } from './jobs';
import type { Hub } from './hub';
import type { Recorder } from './record';
import type { RunFiles } from './run-files';
import type { RunLedger } from './run-ledger';
import { buildSummary, finalMetrics, writeRunReport } from './run-summary';
import { sampleHospitals } from './sampling';
import { appendPrivacyReport, type PrivacySummary } from './privacy-account';
import { SummedFit } from './secure-round';
import type { FitRecord, RoundRecord, SiteRoundMetrics } from './state';
import type { RunStore } from './store';
import { roundTensors, withFrozen, withoutFrozen } from './trainable-round';
import type { PhaseCounters } from './view';
import type { WaitingReporter } from './waiting';

export interface EngineContext {
  runId: string;
  config: CoordinatorConfig;
  spec: ModelSpec;
  store: RunStore;
  recorder: Recorder;
  hub: Hub;
  files: RunFiles;
  ledger: RunLedger;
  counters: PhaseCounters;
  strategy: Strategy;
  /** Tensors hospitals keep local, as the strategy names them (FedBN). */
  keepLocal: ReadonlySet<string>;
  /** What trains round by round; null: the model as built, every tensor aggregated. */
  schedule: readonly ScheduleEntry[] | null;
  /** Says who the run is waiting for. */
  waiting?: WaitingReporter;
}

export class RoundEngine {
  stopping = false;
  /** The last round's aggregation (null before the first). */
  aggregated: AggregationRecord | null = null;
  private readonly manifest: { name: string; shape: number[] }[];
  /** The global model before the current one, used by nothing: the next round's aggregate is written into its arrays. */
  private retired: NamedWeights | undefined;
  /** Attempts at each round that failed for a full disk (they do not count towards maxRoundAttempts). */
  private readonly diskFullAttempts = new Map<number, number>();
  /** Hospitals that left the last round's fit unanswered: the final evaluations do not ask them either. */
  private silent: ReadonlySet<string> = new Set();
  /** Secure aggregation and/or differential privacy: the round's updates are summed (secure-round.ts). */
  private readonly summed: SummedFit | null;

  constructor(
    private readonly ctx: EngineContext,
    public global: NamedWeights,
  ) {
    this.manifest = global.map((t) => ({ name: t.name, shape: t.shape }));
    const { config: cfg, store, runId } = ctx;
    this.summed = cfg.secureAggregation.enabled || cfg.dp ? new SummedFit({ ...ctx, manifest: this.manifest }, store.run(runId)?.completedRounds ?? 0) : null;
  }

  /** With secure aggregation or DP: whether updates are summed and ε spent so far; null for a plain run. */
  privacy(): PrivacySummary | null {
    return this.summed?.summary() ?? null;
  }

  /** Evaluation within `timeoutMs` (default: a whole round timeout), not asking the round's `silent` hospitals. */
  private evaluation(timeoutMs = this.ctx.config.roundTimeoutMs, silent?: ReadonlySet<string>): EvaluationPhase {
    const { runId, config, spec, hub, recorder, counters } = this.ctx;
    return { runId, config, classes: spec.classes, hub, recorder, counters, timeoutMs, silent };
  }

  /** Runs the remaining rounds and the final evaluations; resolves with how the run ended (never rejects). */
  async run(): Promise<RunResult> {
    const { config: cfg, store, runId, ledger } = this.ctx;
    try {
      let completed = store.run(runId)!.completedRounds;
      for (;;) {
        if (this.stopping) throw new Error('stopped');
        try {
          await this.evaluateCommitted(completed);
          if (completed === 0 && cfg.evaluateInitial && !ledger.initial) await this.evaluateInitial();
          if (completed >= cfg.rounds) break;
          if (await this.runRound(completed + 1)) completed++;
        } catch (err) {
          if (!isDiskFull(err)) throw err;
          await this.diskFull(completed + 1, err);
          completed = store.run(runId)!.completedRounds;
        }
      }
      if (completed > 0) await this.finalEvaluations();
      const final = finalMetrics(ledger, cfg.rounds);
      if (!final) return await this.finish('failed', `the final evaluation (round ${cfg.rounds}) did not happen: ${ledger.round(cfg.rounds)?.evaluationError ?? 'no metrics'}`);
      return await this.finish('complete');
    } catch (err) {
      return this.finish(this.stopping ? 'stopped' : 'failed', err instanceof Error ? err.message : String(err));
    }
  }

  /** A round committed (aggregated) but not yet evaluated, after a crash or a full disk: evaluate it now. */
  private async evaluateCommitted(completed: number): Promise<void> {
    const { store, runId } = this.ctx;
    const last = store.rounds(runId).find((r) => r.round === completed);
    if (completed === 0 || !last || last.status !== 'aggregated') return;
    await this.waitForHospitals(1);
    const { fitSites = {}, ...fit } = (last.fit ?? fitRecord(new Map()).fit) as unknown as FitRecord & { fitSites?: Record<string, SiteRoundMetrics> };
    const deadline = new RoundDeadline(Date.now(), this.ctx.config.roundTimeoutMs);
    await this.evaluateRound(completed, last.attempt, last.startedAt, { ...fit, used: fit.used ?? fit.hospitals, discarded: fit.discarded ?? [] }, fitSites, deadline, new Set());
  }

  /** Round `round` failed for a full disk: record it as far as possible, then wait before it is tried again. */
  private async diskFull(round: number, err: unknown): Promise<void> {
    const { config: cfg, store, runId, recorder, ledger } = this.ctx;
    const current = ledger.current?.round === round && ledger.current.phase !== 'failed' ? ledger.current.attempt : null;
    // Only an attempt the store counted (startRound succeeded) is given back.
    if (current !== null) this.diskFullAttempts.set(round, (this.diskFullAttempts.get(round) ?? 0) + 1);
    ledger.phase('failed');
    const committed = store.run(runId)!.completedRounds >= round;
    recordDiskFull({ runId, store, recorder, retryMs: cfg.diskFullRetryMs }, round, current, committed, err);
    await this.pause(cfg.diskFullRetryMs);
  }

  /** Waits `ms`, or less when the run is stopped. */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopping && Date.now() < until) await this.ctx.hub.nextChange(Math.min(until - Date.now(), 1000));
  }

  private async evaluateInitial(): Promise<void> {
    const { config: cfg, store, runId, ledger } = this.ctx;
    ledger.current = { round: 0, attempt: 1, phase: 'evaluate', startedAt: Date.now(), jobs: [] };
    await this.waitForHospitals(cfg.minAvailable);
    const e = await evaluate(this.evaluation(), 0, 1, 'test', this.global);
    store.startRound(runId, 0);
    store.completeRound(runId, 0, { initial: true, metrics: e.metrics, sites: e.sites, evaluationError: e.error });
    ledger.initial = e.metrics ? { metrics: e.metrics, sites: e.sites } : null;
    this.ctx.recorder.logger.log('info', 'initial model evaluated', { accuracy: e.metrics?.accuracy, loss: e.metrics?.loss, error: e.error });
    this.ctx.recorder.emit(['state']);
  }

  /** One attempt at a round; false when the fit phase failed k of n (the round is tried again). */
  private async runRound(round: number): Promise<boolean> {
    const { config: cfg, store, runId, ledger, recorder, hub, strategy } = this.ctx;
    const attempt = store.startRound(runId, round);
    if (attempt - (this.diskFullAttempts.get(round) ?? 0) > cfg.maxRoundAttempts) throw new Error(`Round ${round} failed ${cfg.maxRoundAttempts} times; giving up`);
    const startedAt = Date.now();
    ledger.current = { round, attempt, phase: 'waiting', startedAt, jobs: [] };
    recorder.emit(['state']);
    const chosen = sampleHospitals(await this.waitForHospitals(cfg.minAvailable), cfg, round, attempt);
    const hospitals = chosen.map((c) => c.name);
    // one deadline for the whole round, from the moment its hospitals are chosen
    const deadline = new RoundDeadline(Date.now(), cfg.roundTimeoutMs);
    ledger.current = { round, attempt, phase: 'fit', startedAt, jobs: chosen.map((c) => ({ name: c.name, status: 'pending', progress: null })) };
    recorder.record('info', 'round_started', { round, attempt, hospitals, deadline: deadline.at }, ['roundStart', { round, attempt, hospitals }]);

    // Frozen tensors are neither expected back nor aggregated: the strategy sees the trained ones only.
    const { trainable, frozen } = roundTensors(this.ctx.schedule, this.ctx.spec, round);
    const trained = withoutFrozen(this.global, frozen);
    strategy.begin(round, trained);
    const phase: FitPhase = { ...this.ctx, global: this.global, manifest: trained.map((t) => ({ name: t.name, shape: t.shape })), trainable };
    const bytes = { sent: this.ctx.counters.bytesSent, received: this.ctx.counters.bytesReceived };
    const fitMs = deadline.fitMs();
    const settled = (name: string, o: { ok: boolean; error?: string }) => ledger.jobSettled(name, o.ok, o.ok ? undefined : o.error);
    // Secure aggregation and DP: the round's updates are summed (secure-round.ts), and no one update is seen.
    const results = this.summed ? null : await hub.dispatch(chosen, fitJob(phase, round, attempt, settled), fitMs);
    let { fit, fitSites } = results ? fitRecord(results) : await this.summed!.run(this.global, chosen, round, attempt, settled);
    const transport = { uploadBytes: this.ctx.counters.bytesReceived - bytes.received, downloadBytes: this.ctx.counters.bytesSent - bytes.sent };
    fit.transport = transport;
    if (trainable) fit.trainable = trainable;
    // a hospital that left its fit unanswered (still training, or hung) is asked nothing more this round
    const silent = results ? unansweredBy(results) : new Set<string>();
    this.silent = silent;
    const failRound = (reason: string): false => {
      store.failRound(runId, round, { ...fit, fitSites, reason });
      recorder.forgetRefusals(round, attempt);
      ledger.phase('failed');
      recorder.record('warn', 'round_failed', { round, attempt, reason, failures: fit.failures }, ['roundFailed', { round, attempt, reason }]);
      return false;
    };
    // A hospital revoked after its update arrived, before the round aggregates: the round is redone without it.
    const expelled = hub.expelledSince(startedAt);
    const revoked = fit.hospitals.filter((h) => expelled.has(h));
    if (revoked.length > 0) return failRound(`${revoked.join(', ')} lost ${revoked.length === 1 ? 'its credential' : 'their credentials'} after sending ${revoked.length === 1 ? 'an update' : 'updates'}; the round is redone without ${revoked.length === 1 ? 'it' : 'them'}`);
    if (fit.hospitals.length === 0 || fit.failures.length > cfg.maxFailures) {
      return failRound(fit.hospitals.length === 0 ? 'no hospital returned a valid update' : `${fit.failures.length} failures exceed maxFailures=${cfg.maxFailures}`);
    }

    ledger.phase('aggregate');
    recorder.emit(['state']);
    const retainedBytes = strategy.retainedBytes();
    // The strategy's server state before this round, restored if the round cannot be committed.
    const serverState = strategy.exportState();
    const started = performance.now();
    const finished = finishRound(this.ctx, round, attempt, results ?? new Map(), this.retired && withoutFrozen(this.retired, frozen));
    if ('error' in finished) return failRound(finished.error);
    const { recycled } = finished;
    // A summed round's one update is every contributing hospital's.
    const used = this.summed ? fit.hospitals : finished.used;
    const weights = withFrozen(finished.weights, this.global, frozen);
    if (results && finished.refused.length > 0) {
      ({ fit, fitSites } = fitRecord(results));
      fit.transport = transport;
      if (trainable) fit.trainable = trainable;
    }
    this.aggregated = { round, ms: performance.now() - started, retainedBytes, recycled, updates: fit.hospitals.length };
    fit.used = [...used].sort();
    fit.discarded = fit.hospitals.filter((h) => !used.includes(h));
    for (const name of fit.used) hub.hospital(name).roundsContributed++;
    recorder.logger.log('info', 'round aggregated', { ...this.aggregated, strategy: strategy.name, used: fit.used, discarded: fit.discarded });
    const phasesLeft = this.evaluationDue(round) ? 2 : 1;
    try {
      const phase = { ...this.ctx, manifest: this.manifest, silent, frozen, trainable };
      const calibrated = await calibrate(phase, round, attempt, weights, () => deadline.phaseMs(phasesLeft), () => {
        ledger.phase('calibrate');
        recorder.emit(['state']);
      });
      fit.calibratedBy = calibrated.calibratedBy;
      const head = await calibrateHead(phase, round, attempt, calibrated.weights, () => deadline.phaseMs(phasesLeft), () => ledger.phase('calibrate'));
      if (head.calibratedBy.length > 0) fit.headCalibratedBy = head.calibratedBy;
      const checkpoint = await this.ctx.files.checkpoint(round, head.weights, strategy.exportState());
      store.commitRound(runId, round, checkpoint, { ...fit, fitSites });
      // Committed: the new global takes over, and the old one's arrays take the next aggregate.
      this.retired = this.global;
      this.global = head.weights;
    } catch (err) {
      // Not committed: the global model stays the last committed one, and the strategy's state with it.
      if (serverState.length > 0) strategy.importState(serverState);
      throw err;
    }
    this.ctx.files.prune(round);
    await this.evaluateRound(round, attempt, startedAt, fit, fitSites, deadline, silent);
    return true;
  }

  /** Whether a round is evaluated: every evaluateEvery rounds, and the last. */
  private evaluationDue(round: number): boolean {
    return round % this.ctx.config.evaluateEvery === 0 || round === this.ctx.config.rounds;
  }

  /** Evaluates a committed round when it is due, within what is left of the round's deadline, and records it. */
  private async evaluateRound(
    round: number,
    attempt: number,
    startedAt: number,
    fit: FitRecord,
    fitSites: Record<string, SiteRoundMetrics>,
    deadline: RoundDeadline,
    silent: ReadonlySet<string>,
  ): Promise<void> {
    const { store, runId, ledger, recorder } = this.ctx;
    let e: Awaited<ReturnType<typeof evaluate>> | null = null;
    if (this.evaluationDue(round)) {
      ledger.phase('evaluate');
      recorder.emit(['state']);
      e = await evaluate(this.evaluation(deadline.phaseMs(1), silent), round, attempt, 'test', this.global);
      for (const [name, s] of e.summaries) {
        const site = e.sites[name];
        if (site) store.recordSiteMetrics({ runId, round, hospital: name, phase: 'evaluate', examples: s.count, metrics: { ...site, summary: s } });
      }
      if (e.pooled) {
        ledger.confusion = { classes: e.pooled.classes, matrix: e.pooled.confusion };
        this.ctx.files.writeJson('last-evaluation.json', { round, summary: e.pooled });
      }
    }
    for (const [name, s] of Object.entries(fitSites)) store.recordSiteMetrics({ runId, round, hospital: name, phase: 'fit', examples: s.examples, metrics: { ...s } });
    const record: RoundRecord = {
      round,
      attempt,
      startedAt,
      durationMs: Date.now() - startedAt,
      fit,
      metrics: e?.metrics ?? null,
      ...(e?.error ? { evaluationError: e.error } : {}),
      sites: e?.sites ?? {},
      fitSites,
      failedJobs: store
        .failedJobs(runId, round, attempt)
        .map(({ hospital, phase, error }) => ({ hospital, phase, error, ...(recorder.wasRefused(round, attempt, hospital, phase) ? { refused: true as const } : {}) })),
    };
    recorder.forgetRefusals(round, attempt);
    store.completeRound(runId, round, record as unknown as Record<string, unknown>);
    ledger.completed(record);
    ledger.phase('done');
    const m = record.metrics;
    recorder.record(e?.error ? 'warn' : 'info', 'round_completed', { round, accuracy: m?.accuracy, loss: m?.loss, evaluationError: e?.error, durationMs: record.durationMs }, ['roundEnd', record]);
  }

  /** After the last round, within one round timeout, not asking hospitals that left its fit unanswered: the final model on every validation split, and cross-site evaluation when asked. */
  private async finalEvaluations(): Promise<void> {
    const { config: cfg, ledger, recorder, files } = this.ctx;
    const attempt = ledger.round(cfg.rounds)?.attempt ?? 1;
    const deadline = new RoundDeadline(Date.now(), cfg.roundTimeoutMs);
    try {
      const phase = this.evaluation(deadline.phaseMs(cfg.crossSiteEvaluation ? 2 : 1), this.silent);
      // Under secure aggregation only the pooled summary exists.
      const summaries = cfg.secureAggregation.enabled ? [(await evaluate(phase, cfg.rounds, attempt, 'val', this.global)).pooled].filter((s) => s !== null) : [...(await collectSummaries(phase, cfg.rounds, attempt, 'val', this.global)).summaries.values()];
      if (summaries.length > 0) {
        ledger.validation = mergeSummaries(summaries);
        files.writeJson('validation-evaluation.json', { round: cfg.rounds, summary: ledger.validation });
      }
    } catch (err) {
      recorder.logger.log('warn', 'validation evaluation failed', { error: String(err) });
    }
    if (!cfg.crossSiteEvaluation) return;
    try {
      files.writeJson('cross-site.json', await crossSite(this.evaluation(deadline.phaseMs(1), this.silent), this.global, files.localModels()), true);
    } catch (err) {
      recorder.logger.log('warn', 'cross-site evaluation failed', { error: String(err) });
    }
  }

  /** Waits (bounded by waitTimeoutMs) until at least `min` hospitals are connected and greeted. */
  private async waitForHospitals(min: number) {
    const { config: cfg, hub } = this.ctx;
    const deadline = Date.now() + cfg.waitTimeoutMs;
    while (hub.ready().length < min) {
      if (this.stopping) throw new Error('stopped');
      this.ctx.waiting?.update(min, hub.ready().map((c) => c.name));
      const left = deadline - Date.now();
      if (left <= 0) {
        const names = hub.ready().map((c) => c.name);
        throw new Error(`Waited ${Math.round(cfg.waitTimeoutMs / 1000)} s for ${plural(min, 'hospital')}, but only ${names.length} connected (${names.join(', ') || 'none'})`);
      }
      await hub.nextChange(Math.min(left, 1000));
    }
    this.ctx.waiting?.done();
    return hub.ready();
  }

  /** Writes the final model, summary.json and (when complete) report.md; records the end. */
  private async finish(status: RunResult['status'], error?: string): Promise<RunResult> {
    const { config: cfg, store, runId, ledger, recorder, files, hub, spec } = this.ctx;
    ledger.status = status;
    ledger.error = error ?? null;
    let modelDir: string | null = null;
    for (;;) {
      try {
        if (ledger.history.length > 0) modelDir = await files.saveModel(this.global, ledger.history.length);
        const privacy = this.summed?.summary();
        const summary = { ...buildSummary({ runId, spec, config: cfg, ledger, failedJobs: store.failedJobs(runId) }), ...(privacy ? { privacy } : {}) };
        files.writeJson('summary.json', summary, true);
        if (status === 'complete') await writeRunReport({ runId, spec, config: cfg, ledger, files, finalSites: store.siteMetrics(runId, cfg.rounds) });
        if (status === 'complete' && privacy) appendPrivacyReport(files.runDir, privacy);
        store.setRunStatus(runId, status, { summary, error });
        break;
      } catch (err) {
        if (isDiskFull(err) && !this.stopping) {
          recorder.logger.log('error', `disk full: the run's model, summary and report could not be written; trying again in ${duration(cfg.diskFullRetryMs)}`, { error: String(err) });
          await this.pause(cfg.diskFullRetryMs);
          continue;
        }
        recorder.logger.log('error', 'could not finish the run cleanly', { error: String(err) });
        error = error ?? String(err);
        break;
      }
    }
    const result: RunResult = { runId, status, rounds: ledger.history, final: finalMetrics(ledger, cfg.rounds), runDir: files.runDir, modelDir, error };
    recorder.record(status === 'failed' ? 'error' : 'info', 'run_finished', { status, error: status === 'failed' ? error : undefined }, ['runEnd', result]);
    hub.bye(error ?? 'run complete', status === 'complete');
    return result;
  }
}
