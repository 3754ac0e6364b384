// The round engine: waits for hospitals, samples them, runs each round's fit,
// aggregation, calibration and evaluation under deadlines and k of n, commits
// every round, and ends the run.
import type { NamedWeights } from '@fedxray/protocol';
import type { Strategy } from '@fedxray/aggregation';
import { mergeSummaries } from '@fedxray/evaluation';
import { plural } from '@fedxray/runtime';
import type { ModelSpec } from '@fedxray/model';
import { calibrate } from './calibrate';
import type { CoordinatorConfig } from './config';
import { collectSummaries, crossSite, evaluate, type EvaluationPhase } from './evaluate';
import type { AggregationRecord, RunResult } from './events';
import { fitJob, fitRecord, type FitPhase } from './fit-phase';
import type { Hub } from './hub';
import type { Recorder } from './record';
import type { RunFiles } from './run-files';
import type { RunLedger } from './run-ledger';
import { buildSummary, finalMetrics, writeRunReport } from './run-summary';
import { sampleHospitals } from './sampling';
import type { FitRecord, RoundRecord, SiteRoundMetrics } from './state';
import type { RunStore } from './store';
import type { CoordinatorCounts } from './view';
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
  counters: Omit<CoordinatorCounts, 'connected'>;
  strategy: Strategy;
  /** Tensors hospitals keep local, as the strategy names them (FedBN). */
  keepLocal: ReadonlySet<string>;
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

  constructor(
    private readonly ctx: EngineContext,
    public global: NamedWeights,
  ) {
    this.manifest = global.map((t) => ({ name: t.name, shape: t.shape }));
  }

  private get evaluation(): EvaluationPhase {
    const { runId, config, spec, hub } = this.ctx;
    return { runId, config, classes: spec.classes, hub };
  }

  /** Runs the remaining rounds and the final evaluations; resolves with how the run ended (never rejects). */
  async run(): Promise<RunResult> {
    const { config: cfg, store, runId, ledger } = this.ctx;
    try {
      let completed = store.run(runId)!.completedRounds;
      // A round aggregated but not yet evaluated before a crash: evaluate it now.
      const last = store.rounds(runId).find((r) => r.round === completed);
      if (completed > 0 && last && last.status === 'aggregated') {
        await this.waitForHospitals(1);
        const { fitSites = {}, ...fit } = (last.fit ?? fitRecord(new Map()).fit) as unknown as FitRecord & { fitSites?: Record<string, SiteRoundMetrics> };
        await this.evaluateRound(completed, last.attempt, last.startedAt, { ...fit, used: fit.used ?? fit.hospitals, discarded: fit.discarded ?? [] }, fitSites);
      }
      if (completed === 0 && cfg.evaluateInitial && !ledger.initial) await this.evaluateInitial();
      while (completed < cfg.rounds) {
        if (this.stopping) throw new Error('stopped');
        if (await this.runRound(completed + 1)) completed++;
      }
      if (completed > 0) await this.finalEvaluations();
      const final = finalMetrics(ledger, cfg.rounds);
      if (!final) return await this.finish('failed', `the final evaluation (round ${cfg.rounds}) did not happen: ${ledger.round(cfg.rounds)?.evaluationError ?? 'no metrics'}`);
      return await this.finish('complete');
    } catch (err) {
      return this.finish(this.stopping ? 'stopped' : 'failed', err instanceof Error ? err.message : String(err));
    }
  }

  private async evaluateInitial(): Promise<void> {
    const { config: cfg, store, runId, ledger } = this.ctx;
    ledger.current = { round: 0, attempt: 1, phase: 'evaluate', startedAt: Date.now(), jobs: [] };
    await this.waitForHospitals(cfg.minAvailable);
    const e = await evaluate(this.evaluation, 0, 1, 'test', this.global);
    ledger.initial = e.metrics ? { metrics: e.metrics, sites: e.sites } : null;
    store.startRound(runId, 0);
    store.completeRound(runId, 0, { initial: true, metrics: e.metrics, sites: e.sites, evaluationError: e.error });
    this.ctx.recorder.logger.log('info', 'initial model evaluated', { accuracy: e.metrics?.accuracy, loss: e.metrics?.loss, error: e.error });
    this.ctx.recorder.emit(['state']);
  }

  /** One attempt at a round; false when the fit phase failed k of n (the round is tried again). */
  private async runRound(round: number): Promise<boolean> {
    const { config: cfg, store, runId, ledger, recorder, hub, strategy } = this.ctx;
    const attempt = store.startRound(runId, round);
    if (attempt > cfg.maxRoundAttempts) throw new Error(`Round ${round} failed ${cfg.maxRoundAttempts} times; giving up`);
    const startedAt = Date.now();
    ledger.current = { round, attempt, phase: 'waiting', startedAt, jobs: [] };
    recorder.emit(['state']);
    const chosen = sampleHospitals(await this.waitForHospitals(cfg.minAvailable), cfg, round, attempt);
    const hospitals = chosen.map((c) => c.name);
    ledger.current = { round, attempt, phase: 'fit', startedAt, jobs: chosen.map((c) => ({ name: c.name, status: 'pending', progress: null })) };
    recorder.record('info', 'round_started', { round, attempt, hospitals }, ['roundStart', { round, attempt, hospitals }]);

    strategy.begin(round, this.global);
    const phase: FitPhase = { ...this.ctx, global: this.global, manifest: this.manifest };
    const results = await hub.dispatch(chosen, fitJob(phase, round, attempt, (name, o) => ledger.jobSettled(name, o.ok, o.ok ? undefined : o.error)), cfg.roundTimeoutMs);
    const { fit, fitSites } = fitRecord(results);
    if (fit.hospitals.length === 0 || fit.failures.length > cfg.maxFailures) {
      const reason = fit.hospitals.length === 0 ? 'no hospital returned a valid update' : `${fit.failures.length} failures exceed maxFailures=${cfg.maxFailures}`;
      store.failRound(runId, round, { ...fit, fitSites, reason });
      ledger.phase('failed');
      recorder.record('warn', 'round_failed', { round, attempt, reason, failures: fit.failures }, ['roundFailed', { round, attempt, reason }]);
      return false;
    }

    ledger.phase('aggregate');
    recorder.emit(['state']);
    const retainedBytes = strategy.retainedBytes();
    const started = performance.now();
    const { weights, used, recycled } = strategy.finish({ recycle: this.retired });
    this.aggregated = { round, ms: performance.now() - started, retainedBytes, recycled, updates: fit.hospitals.length };
    fit.used = [...used].sort();
    fit.discarded = fit.hospitals.filter((h) => !used.includes(h));
    for (const name of fit.used) hub.hospital(name).roundsContributed++;
    recorder.logger.log('info', 'round aggregated', { ...this.aggregated, strategy: strategy.name, used: fit.used, discarded: fit.discarded });
    this.retired = this.global;
    const calibrated = await calibrate({ ...this.ctx, manifest: this.manifest }, round, attempt, weights, () => {
      ledger.phase('calibrate');
      recorder.emit(['state']);
    });
    this.global = calibrated.weights;
    fit.calibratedBy = calibrated.calibratedBy;
    const checkpoint = await this.ctx.files.checkpoint(round, this.global, strategy.exportState());
    store.commitRound(runId, round, checkpoint, { ...fit, fitSites });
    this.ctx.files.prune(round);
    await this.evaluateRound(round, attempt, startedAt, fit, fitSites);
    return true;
  }

  /** Evaluates a committed round when it is due (every evaluateEvery rounds, and the last), and records it. */
  private async evaluateRound(round: number, attempt: number, startedAt: number, fit: FitRecord, fitSites: Record<string, SiteRoundMetrics>): Promise<void> {
    const { config: cfg, store, runId, ledger, recorder } = this.ctx;
    let e: Awaited<ReturnType<typeof evaluate>> | null = null;
    if (round % cfg.evaluateEvery === 0 || round === cfg.rounds) {
      ledger.phase('evaluate');
      recorder.emit(['state']);
      e = await evaluate(this.evaluation, round, attempt, 'test', this.global);
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
      failedJobs: store.failedJobs(runId, round, attempt).map(({ hospital, phase, error }) => ({ hospital, phase, error })),
    };
    store.completeRound(runId, round, record as unknown as Record<string, unknown>);
    ledger.completed(record);
    ledger.phase('done');
    const m = record.metrics;
    recorder.record(e?.error ? 'warn' : 'info', 'round_completed', { round, accuracy: m?.accuracy, loss: m?.loss, evaluationError: e?.error, durationMs: record.durationMs }, ['roundEnd', record]);
  }

  /** After the last round: the final model on every validation split, and cross-site evaluation when asked. */
  private async finalEvaluations(): Promise<void> {
    const { config: cfg, ledger, recorder, files } = this.ctx;
    const attempt = ledger.round(cfg.rounds)?.attempt ?? 1;
    try {
      const { summaries } = await collectSummaries(this.evaluation, cfg.rounds, attempt, 'val', this.global);
      if (summaries.size > 0) {
        ledger.validation = mergeSummaries([...summaries.values()]);
        files.writeJson('validation-evaluation.json', { round: cfg.rounds, summary: ledger.validation });
      }
    } catch (err) {
      recorder.logger.log('warn', 'validation evaluation failed', { error: String(err) });
    }
    if (!cfg.crossSiteEvaluation) return;
    try {
      files.writeJson('cross-site.json', await crossSite(this.evaluation, this.global, files.localModels()), true);
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
    try {
      if (ledger.history.length > 0) modelDir = await files.saveModel(this.global, ledger.history.length);
      const summary = buildSummary({ runId, spec, config: cfg, ledger, failedJobs: store.failedJobs(runId) });
      files.writeJson('summary.json', summary, true);
      if (status === 'complete') await writeRunReport({ runId, spec, config: cfg, ledger, files, finalSites: store.siteMetrics(runId, cfg.rounds) });
      store.setRunStatus(runId, status, { summary, error });
    } catch (err) {
      recorder.logger.log('error', 'could not finish the run cleanly', { error: String(err) });
      error = error ?? String(err);
    }
    const result: RunResult = { runId, status, rounds: ledger.history, final: finalMetrics(ledger, cfg.rounds), runDir: files.runDir, modelDir, error };
    recorder.record(status === 'failed' ? 'error' : 'info', 'run_finished', { status, error: status === 'failed' ? error : undefined }, ['runEnd', result]);
    hub.bye(error ?? 'run complete', status === 'complete');
    return result;
  }
}
