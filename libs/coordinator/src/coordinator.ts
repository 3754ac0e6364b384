import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NamedWeights } from '@fedxray/protocol';
import { createStrategy, type Strategy } from '@fedxray/aggregation';
import { buildModel } from '@fedxray/model';
import { resumePoint } from './checkpoint-recovery';
import type { CoordinatorConfig, CoordinatorConfigInput } from './config';
import { deferred } from './deferred';
import type { AggregationRecord, CoordinatorEvents, RunResult } from './events';
import { federationCertificateCheck } from './client-certificates';
import { handleHttp } from './http';
import { mayRead } from './access';
import type { Caller } from './caller';
import { Hub } from './hub';
import { silentLogger, type Logger } from './log';
import { databaseFileState, refuseLostDatabase } from './lost-database';
import { openRun } from './open-run';
import { Recorder } from './record';
import { HospitalRegistry } from './registry';
import { resolveConfig, type ResolvedConfig } from './run-config';
import { RunFiles } from './run-files';
import { RunLedger } from './run-ledger';
import { RoundEngine } from './round-engine';
import { restoresServerState } from './trainable-round';
import { STARTING_WEIGHTS_FILE, startingWeights, type StartingWeightsRecord } from './starting-weights';
import type { RoundRecord, RunState, SiteRoundMetrics } from './state';
import { RunStore, type RoundRow } from './store';
import type { CoordinatorCounts, CoordinatorView, ReaderThrottle } from './view';
import { WaitingReporter } from './waiting';

/** A round record as stored, with the fields older versions did not write. */
function storedRecord(row: RoundRow): RoundRecord {
  const r = row.metrics as unknown as RoundRecord;
  return { ...r, failedJobs: r.failedJobs ?? [], fit: { ...r.fit, used: r.fit.used ?? r.fit.hospitals, discarded: r.fit.discarded ?? [] } };
}

/**
 * The coordinator: serves hospitals (the hub), runs rounds of fit, calibrate
 * and evaluate (the round engine), and records everything in the run store and
 * the run's folder. `Coordinator.start()` returns once it listens; `done`
 * resolves when the run ends.
 */
export class Coordinator extends EventEmitter<CoordinatorEvents> implements CoordinatorView {
  readonly registry: HospitalRegistry;
  readonly done: Promise<RunResult>;
  url = '';
  readonly runDir: string;
  private readonly finish = deferred<RunResult>();
  private readonly ledger = new RunLedger();
  private readonly recorder: Recorder;
  private readonly hub: Hub;
  private readonly counters = { updatesAccepted: 0, bytesReceived: 0, bytesSent: 0 };
  private files!: RunFiles;
  private strategy!: Strategy;
  private engine!: RoundEngine;
  private released = false;

  private constructor(
    /** The run's configuration (a resumed run's own, with this start's serving fields). */
    readonly config: CoordinatorConfig,
    private readonly resolved: ResolvedConfig,
    readonly store: RunStore,
    readonly runId: string,
    readonly logger: Logger,
  ) {
    super();
    this.done = this.finish.promise;
    this.registry = new HospitalRegistry(store, config.staticTokens);
    this.runDir = config.runDir ?? join(config.dataDir, 'runs', runId);
    this.recorder = new Recorder(store, runId, logger, this);
    const { spec, tls } = resolved;
    this.hub = new Hub(
      { ...config, runId, classes: spec.classes, model: spec as unknown as Record<string, unknown>, tls, dashboardToken: config.dashboardToken, checkCertificate: federationCertificateCheck(config.dataDir) },
      this.registry,
      this.recorder,
      (failure) => this.recorder.jobFailed(failure),
    );
  }

  /**
   * Checks the whole configuration, opens the store, resumes the run it should
   * (or stores a new one), listens, and starts the rounds. A start that fails
   * leaves no new run behind.
   */
  static async start(input: CoordinatorConfigInput, options: { logger?: Logger } = {}): Promise<Coordinator> {
    const logger = options.logger ?? silentLogger;
    const start = resolveConfig(input);
    const { dataDir, newRun } = start.config;
    const dbFile = databaseFileState(dataDir);
    if (dbFile !== 'present') refuseLostDatabase(dataDir, dbFile, newRun);
    const store = new RunStore(dataDir);
    let opened: ReturnType<typeof openRun> | undefined;
    let c: Coordinator | undefined;
    try {
      refuseLostDatabase(dataDir, { runs: store.runs().length }, newRun);
      opened = openRun(store, start, logger);
      c = new Coordinator(opened.run.config, opened.run, store, opened.runId, logger);
      await c.prepare();
      await c.listen();
    } catch (err) {
      await c?.hub.close();
      if (opened?.created) store.deleteRun(opened.runId);
      store.close();
      throw err;
    }
    const running = c;
    void running.engine.run().then((result) => running.finish.resolve(result));
    return running;
  }

  private async prepare(): Promise<void> {
    const { spec, strategy: strategyConfig } = this.resolved;
    const run = this.store.run(this.runId)!;
    this.files = new RunFiles(this.runDir, this.runId, spec, buildModel(spec, { seed: this.config.seed }));
    const resumed = await resumePoint(this.files, this.store, run, this.logger);
    for (const note of this.resolved.notes) this.logger.log('info', note);
    const global = resumed?.global ?? (await startingWeights(this.config, spec, this.files, this.logger)).weights;
    this.ledger.startingWeights = this.files.readJson<StartingWeightsRecord>(STARTING_WEIGHTS_FILE) ?? null;
    this.strategy = createStrategy(strategyConfig);
    if (resumed?.strategyState) {
      const completed = this.store.run(this.runId)!.completedRounds;
      if (restoresServerState(this.resolved.schedule, spec, completed)) {
        this.strategy.importState(resumed.strategyState);
        this.logger.log('info', 'strategy state restored', { checkpoint: resumed.checkpoint });
      } else {
        this.logger.log('info', `strategy state restarts: round ${completed + 1} trains other tensors than round ${completed} (--schedule), as a run that had not stopped would`, { checkpoint: resumed.checkpoint });
      }
    }
    const rounds = this.store.rounds(this.runId);
    this.ledger.history = rounds.filter((r) => r.round > 0 && r.status === 'complete' && r.metrics).map(storedRecord);
    const r0 = rounds.find((r) => r.round === 0 && r.status === 'complete')?.metrics;
    if (r0?.metrics) this.ledger.initial = { metrics: r0.metrics as Record<string, number>, sites: (r0.sites ?? {}) as Record<string, SiteRoundMetrics> };
    this.ledger.startedAt = run.createdAt;
    const { runId, config, store, recorder, hub, files, ledger, counters, strategy } = this;
    const keepLocal = new Set(strategy.localTensorNames(global));
    const schedule = this.resolved.schedule;
    const waiting = new WaitingReporter(this.logger, () => this.registeredNames());
    this.engine = new RoundEngine({ runId, config, spec, store, recorder, hub, files, ledger, counters, strategy, keepLocal, schedule, waiting }, global);
  }

  private async listen(): Promise<void> {
    const http = (req: IncomingMessage, res: ServerResponse) => {
      handleHttp(this, req, res).catch((err) => {
        this.logger.log('error', 'http handler failed', { error: String(err) });
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    this.url = await this.hub.listen(http, () => this.state());
    this.logger.log('info', 'coordinator listening', { url: this.url, runId: this.runId });
    this.emit('listening', { url: this.url });
  }

  /** Hospitals that may join: registered and not revoked, and the static tokens' names. */
  private registeredNames(): string[] {
    const stored = this.registry.list().filter((h) => h.revokedAt === null).map((h) => h.name);
    return [...new Set([...stored, ...Object.keys(this.config.staticTokens ?? {})])];
  }

  get readers(): ReaderThrottle | undefined {
    return this.hub.readers;
  }

  mayRead(caller: Caller, token: unknown): boolean {
    return mayRead(this.config.dashboardToken, caller, token);
  }

  // -------------------------------------------------------------- queries
  state(): RunState {
    const { ledger, config, resolved } = this;
    const current = ledger.current;
    return {
      run: {
        id: this.runId,
        status: ledger.status,
        rounds: config.rounds,
        completedRounds: ledger.history.length,
        startedAt: ledger.startedAt,
        config: {
          model: resolved.spec,
          strategy: resolved.strategy,
          fit: config.fit,
          minAvailable: config.minAvailable,
          minFit: config.minFit,
          fractionFit: config.fractionFit,
          maxFailures: config.maxFailures,
        },
        error: ledger.error,
      },
      current: current
        ? {
            ...current,
            jobs: current.jobs.map((j) => {
              const job = this.hub.jobOf(j.name);
              return job && job.round === current.round ? { ...j, status: job.status, progress: job.progress } : j;
            }),
          }
        : null,
      hospitals: this.hub.hospitals(),
      history: ledger.history,
      initial: ledger.initial?.metrics ?? null,
      confusion: ledger.confusion,
      privacy: this.engine?.privacy() ?? null,
    };
  }

  /** The current global weights (a copy). */
  globalWeights(): NamedWeights {
    return this.engine.global.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() }));
  }

  /** The last round's aggregation (null before the first): finish()'s time, the strategy's memory at the time, and whether the result reused the retired global. */
  lastAggregation(): AggregationRecord | null {
    return this.engine.aggregated && { ...this.engine.aggregated };
  }

  counts(): CoordinatorCounts {
    const { refusals } = this.recorder;
    return { ...this.counters, updatesRefused: refusals.total('fit'), refused: refusals.samples(), connected: this.hub.ready().length };
  }

  modelDir(): string | null {
    return this.files.modelDir() ?? this.store.run(this.runId)?.checkpoint ?? null;
  }

  /** Stops the run (it can be resumed later), tells hospitals, closes sockets and the store. */
  async stop(): Promise<void> {
    this.engine.stopping = true;
    this.hub.poke();
    this.hub.failAll('coordinator stopping');
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.release();
  }

  /**
   * Closes sockets, the HTTP server and the store. A run still going is
   * stopped first (as by `stop()`), so that nothing is left waiting on
   * hospitals or writing to a closed store.
   */
  async close(): Promise<void> {
    if (!this.finish.settled) return this.stop();
    await this.release();
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.hub.close();
    this.files.dispose();
    this.strategy.dispose();
    this.store.close();
  }
}
