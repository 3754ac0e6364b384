import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, rmSync, existsSync, readdirSync, writeFileSync, renameSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Server as IoServer, type Namespace, type Socket } from 'socket.io';
import {
  PROTOCOL_VERSION,
  CalibrateResultSchema,
  EvaluateResultSchema,
  FailureSchema,
  FitResultSchema,
  HandshakeAuthSchema,
  HeartbeatSchema,
  HelloSchema,
  ProgressSchema,
  ProtocolError,
  decodeWeights,
  describeZodError,
  encodeWeights,
  validateWeights,
  type Ack,
  type FitConfig,
  type Hello,
  type HospitalToServerEvents,
  type NamedWeights,
  type ServerToHospitalEvents,
  type WeightsPayload,
  type WireError,
} from '@fedxray/protocol';
import { StrategyConfigSchema, createStrategy, type Strategy } from '@fedxray/aggregation';
import { computeMetrics, mergeSummaries, writeReport, type EvaluationSummary } from '@fedxray/evaluation';
import { mulberry32 } from '@fedxray/runtime';
import { ModelSpecSchema, buildModel, getNamedWeights, loadModel, saveModel, setNamedWeights, type ModelSpec } from '@fedxray/model';
import { CoordinatorConfigSchema, type CoordinatorConfig, type CoordinatorConfigInput } from './config';
import { deferred, sample, type Deferred } from './deferred';
import { silentLogger, type Logger } from './log';
import { HospitalRegistry } from './registry';
import { RunStore } from './store';
import type { HospitalJobStatus, HospitalState, JobProgress, RoundRecord, RunState, SiteRoundMetrics } from './state';
import { handleHttp } from './http';

type HospitalSocket = Socket<HospitalToServerEvents, ServerToHospitalEvents>;

interface JobResult {
  ok: boolean;
  error?: string;
  examples?: number;
  metrics?: { loss: number; accuracy: number };
  summary?: EvaluationSummary;
  stats?: NamedWeights;
  durationMs?: number;
}

type JobKind = 'fit' | 'calibrate' | 'evaluate';

interface Job {
  kind: JobKind;
  round: number;
  status: HospitalJobStatus;
  progress: JobProgress | null;
  done: Deferred<JobResult>;
  /** For cross-site evaluation: whose model is being evaluated. */
  tag?: string;
}

interface Connection {
  name: string;
  socket: HospitalSocket;
  hello: Hello | null;
  lastSeen: number;
  job: Job | null;
}

export interface CoordinatorEvents {
  listening: [{ url: string }];
  hospital: [{ name: string; event: 'joined' | 'left' | 'refused'; reason?: string }];
  roundStart: [{ round: number; attempt: number; hospitals: string[] }];
  progress: [{ round: number; hospital: string; progress: JobProgress }];
  /** An update that passed validation, before aggregation (listen only in tests or audits: it holds a model's worth of memory). */
  update: [{ round: number; hospital: string; examples: number; weights: NamedWeights }];
  fitResult: [{ round: number; hospital: string; ok: boolean; error?: string; metrics?: { loss: number; accuracy: number }; examples?: number }];
  roundEnd: [RoundRecord];
  roundFailed: [{ round: number; attempt: number; reason: string }];
  runEnd: [RunResult];
  state: [];
}

/** One round's aggregation: finish()'s wall time, the strategy's memory before it, the updates folded, and whether the result reused the retired global. */
export interface AggregationRecord {
  round: number;
  ms: number;
  retainedBytes: number;
  recycled: boolean;
  updates: number;
}

export interface RunResult {
  runId: string;
  status: 'complete' | 'failed' | 'stopped';
  rounds: RoundRecord[];
  final: Record<string, number> | null;
  runDir: string;
  modelDir: string | null;
  error?: string;
}

/**
 * socket.io server options for weights traffic, set on purpose: the default
 * 1 MB maxHttpBufferSize silently drops a DenseNet121 update (30 MB), and
 * per-message deflate costs more CPU than it saves on float weights.
 */
export function serverTransportOptions(maxPayloadBytes: number) {
  return {
    maxHttpBufferSize: maxPayloadBytes,
    perMessageDeflate: false,
    transports: ['websocket' as const],
    pingInterval: 10_000,
    pingTimeout: 20_000,
    serveClient: false,
  };
}

/** What a round's fit phase produced, as recorded in the store and the round record. */
interface FitSummary {
  loss: number;
  accuracy: number;
  examples: number;
  hospitals: string[];
  failures: { name: string; error: string }[];
  fitSites?: Record<string, SiteRoundMetrics>;
  /** Hospitals whose BatchNorm statistics were pooled into the global model. */
  calibratedBy?: string[];
}

/** Regex for BatchNorm tensors (kept local under FedBN). */
const BN_TENSOR = /\/(gamma|beta|moving_mean|moving_variance)$/;

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || address.startsWith('127.'));
}

function wireError(err: unknown, fallback: WireError['code'] = 'internal'): WireError {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message };
  return { code: fallback, message: err instanceof Error ? err.message : String(err) };
}

function meanBy(items: { examples: number; value: number }[]): number {
  const n = items.reduce((s, i) => s + i.examples, 0);
  return n === 0 ? NaN : items.reduce((s, i) => s + i.value * i.examples, 0) / n;
}

/**
 * The coordinator: serves hospitals over socket.io, runs rounds of fit and
 * evaluate, aggregates updates as they arrive, checkpoints after every round,
 * and records everything in the run store. `Coordinator.start()` returns once
 * it listens; `done` resolves when the run ends.
 */
export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly config: CoordinatorConfig;
  readonly store: RunStore;
  readonly registry: HospitalRegistry;
  readonly done: Promise<RunResult>;
  url = '';
  runId = '';
  runDir = '';

  private http!: HttpServer;
  private io!: IoServer<HospitalToServerEvents, ServerToHospitalEvents>;
  private readonly conns = new Map<string, Connection>();
  private readonly known = new Map<string, HospitalState>();
  private spec!: ModelSpec;
  private model: any;
  private global: NamedWeights = [];
  /** The global model before the current one, used by nothing: the next round's aggregate is written into its arrays. */
  private retired: NamedWeights | undefined;
  private aggregated: AggregationRecord | null = null;
  private released = false;
  private manifest: { name: string; shape: number[] }[] = [];
  private keepLocal = new Set<string>();
  private strategy!: Strategy;
  private history: RoundRecord[] = [];
  private initial: { metrics: Record<string, number>; sites: Record<string, SiteRoundMetrics> } | null = null;
  private current: RunState['current'] = null;
  private confusion: RunState['confusion'] = null;
  private status: RunState['run']['status'] = 'running';
  private error: string | null = null;
  private startedAt = Date.now();
  private stopping = false;
  private readonly changed = new EventEmitter();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private finish!: Deferred<RunResult>;
  private lastSummaries = new Map<string, EvaluationSummary>();
  private validation: EvaluationSummary | null = null;
  private counters = { updatesAccepted: 0, updatesRefused: 0, bytesReceived: 0, bytesSent: 0 };
  private runConfig!: CoordinatorConfig;

  private constructor(
    config: CoordinatorConfig,
    readonly logger: Logger,
  ) {
    super();
    this.config = config;
    this.store = new RunStore(config.dataDir);
    this.registry = new HospitalRegistry(this.store, config.staticTokens);
    this.finish = deferred<RunResult>();
    this.done = this.finish.promise;
    this.changed.setMaxListeners(0);
  }

  /** Opens the store, prepares (or resumes) the run, listens, and starts the round loop. */
  static async start(input: CoordinatorConfigInput, options: { logger?: Logger } = {}): Promise<Coordinator> {
    const parsed = CoordinatorConfigSchema.safeParse(input);
    if (!parsed.success) throw new Error(`Invalid coordinator config: ${describeZodError(parsed.error)}`);
    const config = parsed.data;
    if (!config.tls && !config.allowInsecure && !isLoopback(config.host) && config.host !== 'localhost') {
      throw new Error(
        `Refusing plain HTTP on ${config.host}: hospital tokens and weights would cross the network unencrypted. Give a TLS certificate and key, or pass allowInsecure (--insecure) if a trusted proxy terminates TLS.`,
      );
    }
    const c = new Coordinator(config, options.logger ?? silentLogger);
    try {
      await c.prepareRun();
      await c.listen();
    } catch (err) {
      c.store.close();
      throw err;
    }
    void c.loop();
    return c;
  }

  // ---------------------------------------------------------------- setup
  private async prepareRun(): Promise<void> {
    const cfg = this.config;
    const existing = cfg.runId ? this.store.run(cfg.runId) : this.store.unfinishedRun();
    if (existing && existing.status !== 'complete' && existing.status !== 'failed') {
      this.runId = existing.id;
      this.runConfig = CoordinatorConfigSchema.parse({ ...existing.config, dataDir: cfg.dataDir });
      this.store.setRunStatus(this.runId, 'running');
      this.logger.log('info', 'resuming run', { runId: this.runId, completedRounds: existing.completedRounds });
    } else if (existing) {
      throw new Error(`Run ${existing.id} already ${existing.status}; choose another run id`);
    } else {
      this.runId = cfg.runId ?? `run-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}-${randomUUID().slice(0, 6)}`;
      this.runConfig = cfg;
      const { staticTokens: _s, dashboardToken: _d, ...persisted } = cfg;
      this.store.createRun(this.runId, persisted as Record<string, unknown>);
    }
    this.runDir = cfg.runDir ?? join(cfg.dataDir, 'runs', this.runId);
    mkdirSync(join(this.runDir, 'checkpoints'), { recursive: true });

    const specParsed = ModelSpecSchema.safeParse(this.runConfig.model);
    if (!specParsed.success) throw new Error(`Invalid model spec: ${describeZodError(specParsed.error)}`);
    this.spec = specParsed.data as ModelSpec;
    const strategyParsed = StrategyConfigSchema.safeParse(this.runConfig.strategy);
    if (!strategyParsed.success) throw new Error(`Invalid strategy: ${describeZodError(strategyParsed.error)}`);

    this.model = buildModel(this.spec, { seed: this.runConfig.seed });
    const run = this.store.run(this.runId)!;
    if (run.checkpoint && run.completedRounds > 0) {
      const { model } = await loadModel(run.checkpoint);
      this.global = getNamedWeights(model);
      model.dispose();
      setNamedWeights(this.model, this.global);
    } else {
      this.global = getNamedWeights(this.model);
    }
    this.manifest = this.global.map((t) => ({ name: t.name, shape: t.shape }));
    if (this.runConfig.keepBatchNormLocal) this.keepLocal = new Set(this.manifest.filter((t) => BN_TENSOR.test(t.name)).map((t) => t.name));
    const keep = this.keepLocal;
    this.strategy = createStrategy(strategyParsed.data, { keepLocal: (n: string) => keep.has(n) });
    if (run.checkpoint && run.completedRounds > 0) this.loadStrategyState(run.checkpoint);
    this.history = this.loadHistory();
    const r0 = this.store.rounds(this.runId).find((r) => r.round === 0 && r.status === 'complete');
    if (r0?.metrics?.metrics) this.initial = { metrics: r0.metrics.metrics as Record<string, number>, sites: (r0.metrics.sites ?? {}) as Record<string, SiteRoundMetrics> };
    this.startedAt = run.createdAt;
  }

  private loadHistory(): RoundRecord[] {
    return this.store
      .rounds(this.runId)
      .filter((r) => r.round > 0 && r.status === 'complete' && r.metrics)
      .map((r) => r.metrics as unknown as RoundRecord);
  }

  private async listen(): Promise<void> {
    const cfg = this.config;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      handleHttp(this, req, res).catch((err) => {
        this.logger.log('error', 'http handler failed', { error: String(err) });
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    this.http = cfg.tls
      ? createHttpsServer({ cert: readFileSync(cfg.tls.cert), key: readFileSync(cfg.tls.key) }, handler)
      : createHttpServer(handler);
    this.io = new IoServer(this.http, serverTransportOptions(cfg.maxPayloadBytes));
    this.io.use((socket, next) => this.authenticate(socket as HospitalSocket, next));
    this.io.on('connection', (socket) => this.onConnection(socket as HospitalSocket));
    const dash = this.io.of('/dashboard') as unknown as Namespace;
    dash.use((socket, next) => {
      if (this.mayRead(socket.handshake.address, (socket.handshake.auth as any)?.token)) next();
      else next(Object.assign(new Error('dashboard: loopback only, or give the dashboard token'), { data: { code: 'unauthorized' } }));
    });
    dash.on('connection', (socket) => socket.emit('state', this.state()));
    let pending: NodeJS.Timeout | null = null;
    this.on('state', () => {
      if (pending) return;
      pending = setTimeout(() => {
        pending = null;
        dash.emit('state', this.state());
      }, 200);
    });
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(cfg.port, cfg.host, () => resolve());
    });
    const addr = this.http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${cfg.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    this.heartbeatTimer = setInterval(() => this.checkHeartbeats(), Math.min(cfg.heartbeatIntervalMs, 1000));
    this.heartbeatTimer.unref();
    this.logger.log('info', 'coordinator listening', { url: this.url, runId: this.runId });
    this.emit('listening', { url: this.url });
  }

  /** Loopback readers are trusted; anyone else needs the dashboard token. */
  mayRead(address: string | undefined, token: unknown): boolean {
    if (isLoopback(address)) return true;
    return typeof token === 'string' && !!this.config.dashboardToken && token === this.config.dashboardToken;
  }

  // ------------------------------------------------------------ hospitals
  private authenticate(socket: HospitalSocket, next: (err?: Error) => void): void {
    const refuse = (code: WireError['code'], message: string, name?: string) => {
      this.logger.log('warn', 'connection refused', { code, message, address: socket.handshake.address });
      this.emit('hospital', { name: name ?? '?', event: 'refused', reason: message });
      next(Object.assign(new Error(message), { data: { code, message } }));
    };
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) return refuse('bad_message', `Bad handshake: ${describeZodError(auth.error)}`);
    if (auth.data.protocolVersion !== PROTOCOL_VERSION) {
      return refuse(
        'bad_version',
        `This coordinator speaks protocol version ${PROTOCOL_VERSION}, but the hospital speaks ${auth.data.protocolVersion}: upgrade the older side`,
      );
    }
    const who = this.registry.verify(auth.data.token);
    if (!who.ok) {
      return refuse(who.reason, who.reason === 'revoked' ? 'This hospital token was revoked' : 'Unknown hospital token');
    }
    if (this.conns.has(who.name)) {
      return refuse('already_connected', `Hospital ${who.name} is already connected; a second connection with the same token is refused`, who.name);
    }
    socket.data.name = who.name;
    next();
  }

  private onConnection(socket: HospitalSocket): void {
    const name = socket.data.name as string;
    const conn: Connection = { name, socket, hello: null, lastSeen: Date.now(), job: null };
    this.conns.set(name, conn);
    const st = this.hospitalState(name);
    st.connected = true;
    st.lastSeen = Date.now();
    socket.on('hello', (msg, ack) => this.guard(ack, () => this.onHello(conn, msg)));
    socket.on('fitResult', (msg, ack) => this.guard(ack, () => this.onFitResult(conn, msg)));
    socket.on('evaluateResult', (msg, ack) => this.guard(ack, () => this.onEvaluateResult(conn, msg)));
    socket.on('calibrateResult', (msg, ack) => this.guard(ack, () => this.onCalibrateResult(conn, msg)));
    socket.on('heartbeat', (msg) => {
      if (HeartbeatSchema.safeParse(msg).success) this.touch(conn);
    });
    socket.on('progress', (msg) => {
      const p = ProgressSchema.safeParse(msg);
      if (!p.success || !conn.job || conn.job.round !== p.data.round) return;
      this.touch(conn);
      conn.job.progress = { epoch: p.data.epoch, epochs: p.data.epochs, done: p.data.done, total: p.data.total, loss: p.data.loss };
      this.emit('progress', { round: p.data.round, hospital: name, progress: conn.job.progress });
      this.emit('state');
    });
    socket.on('failure', (msg) => {
      const f = FailureSchema.safeParse(msg);
      if (!f.success || !conn.job || conn.job.round !== f.data.round) return;
      this.failJob(conn, `${f.data.error.code}: ${f.data.error.message}`);
    });
    socket.on('disconnect', (reason) => {
      if (this.conns.get(name) === conn) this.conns.delete(name);
      st.connected = false;
      if (conn.job) this.failJob(conn, `disconnected (${reason})`);
      this.store.addEvent(this.runId, 'info', 'hospital_left', { hospital: name, reason });
      this.logger.log('info', 'hospital left', { hospital: name, reason });
      this.emit('hospital', { name, event: 'left', reason });
      this.changed.emit('change');
      this.emit('state');
    });
  }

  /** Runs a handler and answers its acknowledgement; never throws into the emitter. */
  private guard(ack: unknown, fn: () => Ack | Promise<Ack>): void {
    const reply = typeof ack === 'function' ? (ack as (a: Ack) => void) : () => {};
    Promise.resolve()
      .then(fn)
      .then(reply, (err) => reply({ ok: false, error: wireError(err) }));
  }

  private touch(conn: Connection): void {
    conn.lastSeen = Date.now();
    this.hospitalState(conn.name).lastSeen = conn.lastSeen;
  }

  private hospitalState(name: string): HospitalState {
    let st = this.known.get(name);
    if (!st) {
      st = {
        name,
        connected: false,
        lastSeen: null,
        backend: null,
        software: null,
        examples: null,
        lastLoss: null,
        lastAccuracy: null,
        failures: 0,
        roundsContributed: 0,
      };
      this.known.set(name, st);
    }
    return st;
  }

  private onHello(conn: Connection, msg: unknown): Ack {
    const hello = HelloSchema.safeParse(msg);
    if (!hello.success) return { ok: false, error: { code: 'bad_message', message: `Bad hello: ${describeZodError(hello.error)}` } };
    const ours = [...this.spec.classes].sort().join('\u0000');
    const theirs = [...hello.data.classes].sort().join('\u0000');
    if (ours !== theirs) {
      const message = `This run classifies [${this.spec.classes.join(', ')}], but hospital ${conn.name} has classes [${hello.data.classes.join(', ')}]`;
      setImmediate(() => conn.socket.disconnect(true));
      return { ok: false, error: { code: 'bad_message', message } };
    }
    conn.hello = hello.data;
    this.touch(conn);
    const st = this.hospitalState(conn.name);
    st.backend = hello.data.backend;
    st.software = hello.data.software;
    st.examples = hello.data.examples;
    conn.socket.emit('welcome', {
      protocolVersion: PROTOCOL_VERSION,
      runId: this.runId,
      hospitalId: conn.name,
      hospitalName: conn.name,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      maxPayloadBytes: this.config.maxPayloadBytes,
      model: this.spec as unknown as Record<string, unknown>,
      classes: [...this.spec.classes],
    });
    this.store.addEvent(this.runId, 'info', 'hospital_joined', { hospital: conn.name, backend: hello.data.backend, examples: hello.data.examples });
    this.logger.log('info', 'hospital joined', { hospital: conn.name, backend: hello.data.backend, train: hello.data.examples.train });
    this.emit('hospital', { name: conn.name, event: 'joined' });
    this.changed.emit('change');
    this.emit('state');
    return { ok: true };
  }

  private async onFitResult(conn: Connection, msg: unknown): Promise<Ack> {
    const parsed = FitResultSchema.safeParse(msg);
    const job = conn.job;
    if (!parsed.success) {
      const error: WireError = { code: 'bad_message', message: `Bad fitResult: ${describeZodError(parsed.error)}` };
      if (job?.kind === 'fit') this.failJob(conn, error.message, true);
      return { ok: false, error };
    }
    const r = parsed.data;
    if (r.runId !== this.runId || !job || job.kind !== 'fit' || job.round !== r.round || job.done.settled) {
      return { ok: false, error: { code: 'stale_round', message: `No fit for round ${r.round} is pending for ${conn.name}` } };
    }
    this.touch(conn);
    this.counters.bytesReceived += r.weights.data.byteLength;
    try {
      // Straight into the strategy's memory when it offers it (no copy at
      // accumulate), unless 'update' listeners will keep the arrays.
      const into = this.listenerCount('update') === 0 ? this.strategy.intake() : null;
      const weights = decodeWeights(r.weights as WeightsPayload, into ? (name) => into.get(name) : undefined);
      validateWeights(this.manifest, weights, {
        optional: this.keepLocal,
        maxNorm: this.runConfig.maxUpdateNorm,
        reference: this.runConfig.maxUpdateNorm ? this.global : undefined,
      });
      if (this.listenerCount('update') > 0) this.emit('update', { round: r.round, hospital: conn.name, examples: r.examples, weights });
      this.strategy.accumulate({ hospitalId: conn.name, examples: r.examples, weights });
      if (this.runConfig.crossSiteEvaluation && job.round === this.runConfig.rounds) this.keepLocalModel(conn.name, r.weights as WeightsPayload);
    } catch (err) {
      const error = wireError(err, 'bad_weights');
      this.counters.updatesRefused++;
      this.store.addEvent(this.runId, 'warn', 'update_refused', { hospital: conn.name, round: r.round, ...error });
      this.logger.log('warn', 'update refused', { hospital: conn.name, round: r.round, code: error.code, message: error.message });
      this.failJob(conn, `${error.code}: ${error.message}`, true);
      return { ok: false, error };
    }
    this.counters.updatesAccepted++;
    const st = this.hospitalState(conn.name);
    st.lastLoss = r.metrics.loss;
    st.lastAccuracy = r.metrics.accuracy;
    st.roundsContributed++;
    job.status = 'done';
    job.done.resolve({ ok: true, examples: r.examples, metrics: r.metrics, durationMs: r.durationMs });
    this.emit('fitResult', { round: r.round, hospital: conn.name, ok: true, metrics: r.metrics, examples: r.examples });
    this.emit('state');
    return { ok: true };
  }

  private onEvaluateResult(conn: Connection, msg: unknown): Ack {
    const parsed = EvaluateResultSchema.safeParse(msg);
    const job = conn.job;
    if (!parsed.success) return { ok: false, error: { code: 'bad_message', message: `Bad evaluateResult: ${describeZodError(parsed.error)}` } };
    const r = parsed.data;
    if (r.runId !== this.runId || !job || job.kind !== 'evaluate' || job.round !== r.round || job.done.settled) {
      return { ok: false, error: { code: 'stale_round', message: `No evaluation for round ${r.round} is pending for ${conn.name}` } };
    }
    const s = r.summary;
    const k = this.spec.classes.length;
    const problem =
      s.classes.join('\u0000') !== this.spec.classes.join('\u0000')
        ? `classes must be [${this.spec.classes.join(', ')}] in this order`
        : s.confusion.length !== k || s.confusion.some((row) => row.length !== k)
          ? `confusion matrix must be ${k}×${k}`
          : s.confusion.flat().reduce((a, b) => a + b, 0) !== s.count
            ? 'confusion matrix must sum to count'
            : s.histograms.length !== k || s.histograms.some((h) => h.some((row) => row.length !== s.bins))
              ? `histograms must be ${k}×2×${s.bins}`
              : null;
    if (problem) {
      this.failJob(conn, `bad summary: ${problem}`, true);
      return { ok: false, error: { code: 'bad_message', message: `Bad evaluation summary: ${problem}` } };
    }
    this.touch(conn);
    job.status = 'done';
    job.done.resolve({ ok: true, summary: s as EvaluationSummary, durationMs: r.durationMs, examples: s.count });
    this.emit('state');
    return { ok: true };
  }

  private onCalibrateResult(conn: Connection, msg: unknown): Ack {
    const parsed = CalibrateResultSchema.safeParse(msg);
    const job = conn.job;
    if (!parsed.success) return { ok: false, error: { code: 'bad_message', message: `Bad calibrateResult: ${describeZodError(parsed.error)}` } };
    const r = parsed.data;
    if (r.runId !== this.runId || !job || job.kind !== 'calibrate' || job.round !== r.round || job.done.settled) {
      return { ok: false, error: { code: 'stale_round', message: `No calibration for round ${r.round} is pending for ${conn.name}` } };
    }
    this.counters.bytesReceived += r.stats.data.byteLength;
    try {
      const stats = decodeWeights(r.stats as WeightsPayload);
      validateWeights(this.statManifest(), stats);
      for (const t of stats) {
        if (t.name.endsWith('/moving_variance') && t.values.some((v) => v < 0)) throw new ProtocolError('bad_weights', `${t.name} has a negative variance`);
      }
      this.touch(conn);
      job.status = 'done';
      job.done.resolve({ ok: true, stats, examples: r.examples, durationMs: r.durationMs });
      return { ok: true };
    } catch (err) {
      const error = wireError(err, 'bad_weights');
      this.store.addEvent(this.runId, 'warn', 'calibration_refused', { hospital: conn.name, round: r.round, ...error });
      this.failJob(conn, `${error.code}: ${error.message}`, true);
      return { ok: false, error };
    }
  }

  /** The BatchNorm moving statistics of the model, in manifest order. */
  private statManifest(): { name: string; shape: number[] }[] {
    return this.manifest.filter((t) => /\/moving_(mean|variance)$/.test(t.name));
  }

  /**
   * Pools each hospital's BatchNorm statistics of the new global model:
   * mean = Σ nᵢmᵢ / N, variance = Σ nᵢ(vᵢ + mᵢ²) / N − mean². Exact for the
   * pooled data when each hospital's statistics are exact for its own.
   */
  private async calibrate(round: number): Promise<string[]> {
    const stats = this.statManifest();
    const cfg = this.runConfig.batchNormCalibration;
    if (!cfg.enabled || this.keepLocal.size > 0 || stats.length === 0) return [];
    if (this.current) this.current = { ...this.current, phase: 'calibrate' };
    this.emit('state');
    const payload = encodeWeights(this.global);
    const results = await this.dispatch(this.ready(), 'calibrate', round, (conn) =>
      conn.socket.emit('calibrate', { runId: this.runId, round, maxExamples: cfg.maxExamples, weights: payload }),
    );
    const ok = [...results].filter(([, r]) => r.ok && r.stats).sort(([a], [b]) => a.localeCompare(b));
    if (ok.length === 0) {
      this.logger.log('warn', 'BatchNorm calibration: no hospital answered; keeping the averaged statistics', { round });
      return [];
    }
    const total = ok.reduce((s, [, r]) => s + r.examples!, 0);
    const byName = new Map(this.global.map((t) => [t.name, t]));
    const reported = ok.map(([, r]) => ({ weight: r.examples! / total, stats: new Map(r.stats!.map((t) => [t.name, t.values])) }));
    for (const spec of stats) {
      if (!spec.name.endsWith('/moving_mean')) continue;
      const varName = spec.name.replace(/moving_mean$/, 'moving_variance');
      const mean = new Float64Array(byName.get(spec.name)!.values.length);
      const sq = new Float64Array(mean.length);
      for (const { weight: w, stats: byStat } of reported) {
        const m = byStat.get(spec.name)!;
        const v = byStat.get(varName)!;
        for (let k = 0; k < mean.length; k++) {
          mean[k] += w * m[k];
          sq[k] += w * (v[k] + m[k] * m[k]);
        }
      }
      const mOut = new Float32Array(mean.length);
      const vOut = new Float32Array(mean.length);
      for (let k = 0; k < mean.length; k++) {
        mOut[k] = mean[k];
        vOut[k] = Math.max(0, sq[k] - mean[k] * mean[k]);
      }
      byName.get(spec.name)!.values = mOut;
      if (byName.has(varName)) byName.get(varName)!.values = vOut;
    }
    this.logger.log('info', 'BatchNorm statistics recalibrated', { round, hospitals: ok.map(([n]) => n), examples: total });
    return ok.map(([n]) => n);
  }

  private failJob(conn: Connection, error: string, refused = false): void {
    const job = conn.job;
    if (!job || job.done.settled) return;
    job.status = 'failed';
    this.hospitalState(conn.name).failures++;
    if (job.kind === 'fit') this.emit('fitResult', { round: job.round, hospital: conn.name, ok: false, error });
    this.logger.log('warn', `${job.kind} failed`, { hospital: conn.name, round: job.round, error, refused });
    job.done.resolve({ ok: false, error });
    this.emit('state');
  }

  private checkHeartbeats(): void {
    const limit = this.config.heartbeatIntervalMs * this.config.heartbeatMisses;
    const now = Date.now();
    for (const conn of this.conns.values()) {
      if (conn.job && !conn.job.done.settled && now - conn.lastSeen > limit) {
        this.failJob(conn, `no heartbeat for ${Math.round((now - conn.lastSeen) / 1000)} s`);
      }
    }
  }

  private ready(): Connection[] {
    return [...this.conns.values()].filter((c) => c.hello !== null).sort((a, b) => a.name.localeCompare(b.name));
  }

  private async waitForHospitals(min: number): Promise<Connection[]> {
    const deadline = Date.now() + this.runConfig.waitTimeoutMs;
    while (this.ready().length < min) {
      if (this.stopping) throw new Error('stopped');
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Waited ${Math.round(this.runConfig.waitTimeoutMs / 1000)} s for ${min} hospitals, but only ${this.ready().length} connected (${this.ready()
            .map((c) => c.name)
            .join(', ') || 'none'})`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.changed.once('change', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.ready();
  }

  // ----------------------------------------------------------- the rounds
  private async loop(): Promise<void> {
    const cfg = this.runConfig;
    let result: RunResult;
    try {
      let completed = this.store.run(this.runId)!.completedRounds;
      // A round aggregated but not yet evaluated before a crash: evaluate it now.
      const last = this.store.rounds(this.runId).find((r) => r.round === completed);
      if (completed > 0 && last && last.status === 'aggregated') {
        await this.waitForHospitals(1);
        await this.evaluateRound(completed, last.fit as unknown as FitSummary, last.startedAt, last.attempt);
      }
      if (completed === 0 && cfg.evaluateInitial && !this.initial) {
        this.current = { round: 0, attempt: 1, phase: 'evaluate', startedAt: Date.now(), jobs: [] };
        await this.waitForHospitals(cfg.minAvailable);
        const { metrics, sites } = await this.evaluateGlobal(0);
        this.initial = metrics ? { metrics, sites } : null;
        this.store.startRound(this.runId, 0);
        this.store.completeRound(this.runId, 0, { initial: true, metrics, sites });
        this.logger.log('info', 'initial model evaluated', { accuracy: metrics?.accuracy, loss: metrics?.loss });
        this.emit('state');
      }
      while (completed < cfg.rounds) {
        if (this.stopping) throw new Error('stopped');
        const round = completed + 1;
        const ok = await this.runRound(round);
        if (ok) completed = round;
      }
      if (completed > 0) await this.evaluateValidation().catch((err) => this.logger.log('warn', 'validation evaluation failed', { error: String(err) }));
      if (cfg.crossSiteEvaluation) await this.crossSite().catch((err) => this.logger.log('warn', 'cross-site evaluation failed', { error: String(err) }));
      result = await this.finishRun('complete');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      result = await this.finishRun(this.stopping ? 'stopped' : 'failed', message);
    }
    this.finish.resolve(result);
  }

  private async runRound(round: number): Promise<boolean> {
    const cfg = this.runConfig;
    const attempt = this.store.startRound(this.runId, round);
    if (attempt > cfg.maxRoundAttempts) throw new Error(`Round ${round} failed ${cfg.maxRoundAttempts} times; giving up`);
    const startedAt = Date.now();
    this.current = { round, attempt, phase: 'waiting', startedAt, jobs: [] };
    this.emit('state');
    const available = await this.waitForHospitals(cfg.minAvailable);
    const k = Math.min(available.length, Math.max(cfg.minFit, Math.ceil(cfg.fractionFit * available.length)));
    const chosen = sample(available, k, mulberry32(cfg.seed * 1000 + round * 7 + attempt)).sort((a, b) => a.name.localeCompare(b.name));
    this.current = { round, attempt, phase: 'fit', startedAt, jobs: chosen.map((c) => ({ name: c.name, status: 'pending', progress: null })) };
    this.emit('roundStart', { round, attempt, hospitals: chosen.map((c) => c.name) });
    this.store.addEvent(this.runId, 'info', 'round_started', { round, attempt, hospitals: chosen.map((c) => c.name) });
    this.logger.log('info', 'round started', { round, attempt, hospitals: chosen.map((c) => c.name) });

    this.strategy.begin(round, this.global);
    const fitConfig: FitConfig = {
      localEpochs: cfg.fit.localEpochs,
      batchSize: cfg.fit.batchSize,
      learningRate: cfg.fit.learningRate,
      proximalMu: this.strategy.fitConfig(round).proximalMu ?? 0,
      keepLocal: [...this.keepLocal],
      weightsDtype: cfg.fit.weightsDtype,
      maxExamplesPerEpoch: cfg.fit.maxExamplesPerEpoch,
      seed: cfg.seed * 1000 + round,
    };
    const payload = encodeWeights(this.global, { dtype: cfg.fit.weightsDtype });
    const results = await this.dispatch(chosen, 'fit', round, (conn) => {
      this.counters.bytesSent += payload.byteLength;
      conn.socket.emit('fit', { runId: this.runId, round, config: fitConfig, weights: payload });
    });

    const ordered = [...results].sort(([a], [b]) => a.localeCompare(b));
    const ok = ordered.filter(([, r]) => r.ok);
    const failures = ordered.filter(([, r]) => !r.ok).map(([name, r]) => ({ name, error: r.error ?? 'failed' }));
    const fit: FitSummary = {
      loss: meanBy(ok.map(([, r]) => ({ examples: r.examples!, value: r.metrics!.loss }))),
      accuracy: meanBy(ok.map(([, r]) => ({ examples: r.examples!, value: r.metrics!.accuracy }))),
      examples: ok.reduce((s, [, r]) => s + r.examples!, 0),
      hospitals: ok.map(([n]) => n),
      failures,
      fitSites: Object.fromEntries(ok.map(([n, r]) => [n, { examples: r.examples!, loss: r.metrics!.loss, accuracy: r.metrics!.accuracy }])),
    };
    if (ok.length === 0 || failures.length > cfg.maxFailures) {
      const reason = ok.length === 0 ? 'no hospital returned a valid update' : `${failures.length} failures exceed maxFailures=${cfg.maxFailures}`;
      this.store.failRound(this.runId, round, { ...fit, reason });
      this.store.addEvent(this.runId, 'warn', 'round_failed', { round, attempt, reason, failures });
      this.logger.log('warn', 'round failed', { round, attempt, reason });
      this.current = { ...this.current!, phase: 'failed' };
      this.emit('roundFailed', { round, attempt, reason });
      this.emit('state');
      return false;
    }

    this.current = { ...this.current!, phase: 'aggregate' };
    this.emit('state');
    const retainedBytes = this.strategy.retainedBytes();
    const started = performance.now();
    const { weights, recycled } = this.strategy.finish({ recycle: this.retired });
    this.aggregated = { round, ms: performance.now() - started, retainedBytes, recycled, updates: ok.length };
    this.logger.log('info', 'round aggregated', { ...this.aggregated, strategy: this.strategy.name });
    this.retired = this.global;
    this.global = weights;
    fit.calibratedBy = await this.calibrate(round);
    setNamedWeights(this.model, this.global);
    const ckpt = join(this.runDir, 'checkpoints', `round-${String(round).padStart(4, '0')}`);
    rmSync(ckpt, { recursive: true, force: true });
    await saveModel(this.model, ckpt, { spec: this.spec, runId: this.runId, round });
    this.saveStrategyState(ckpt);
    this.store.commitRound(this.runId, round, ckpt, { ...fit });
    this.pruneCheckpoints(round);
    await this.evaluateRound(round, fit, startedAt, attempt);
    return true;
  }

  /** Server optimizer state (FedAdam moments, FedAvgM momentum) beside the checkpoint, so a resumed run continues it. */
  private saveStrategyState(dir: string): void {
    const state = this.strategy.exportState();
    if (state.length === 0) return;
    const p = encodeWeights(state);
    writeFileSync(join(dir, 'strategy-state.bin'), p.data);
    writeFileSync(join(dir, 'strategy-state.json'), JSON.stringify({ manifest: p.manifest, byteLength: p.byteLength, checksum: p.checksum }));
  }

  private loadStrategyState(dir: string): void {
    const head = join(dir, 'strategy-state.json');
    if (!existsSync(head)) return;
    const meta = JSON.parse(readFileSync(head, 'utf8'));
    this.strategy.importState(decodeWeights({ ...meta, data: new Uint8Array(readFileSync(join(dir, 'strategy-state.bin'))) }));
    this.logger.log('info', 'strategy state restored', { checkpoint: dir });
  }

  private pruneCheckpoints(round: number): void {
    const dir = join(this.runDir, 'checkpoints');
    for (const name of readdirSync(dir)) {
      const m = /^round-(\d+)$/.exec(name);
      if (m && Number(m[1]) <= round - 3) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }

  /** Sends one job to each hospital and waits for all of them (or the deadline). */
  private async dispatch(targets: Connection[], kind: JobKind, round: number, send: (c: Connection) => void, tag?: string): Promise<Map<string, JobResult>> {
    const results = new Map<string, JobResult>();
    const waits = targets.map(async (conn) => {
      const job: Job = { kind, round, status: kind === 'fit' ? 'training' : kind === 'calibrate' ? 'calibrating' : 'evaluating', progress: null, done: deferred<JobResult>(), tag };
      conn.job = job;
      conn.lastSeen = Date.now();
      try {
        send(conn);
      } catch (err) {
        job.done.resolve({ ok: false, error: String(err) });
      }
      const r = await job.done.promise;
      if (conn.job === job) conn.job = null;
      results.set(conn.name, r);
      if (this.current) {
        const j = this.current.jobs.find((x) => x.name === conn.name);
        if (j) {
          j.status = r.ok ? 'done' : 'failed';
          if (r.error) j.error = r.error;
        }
      }
    });
    const timer = setTimeout(() => {
      for (const conn of targets) {
        if (conn.job?.round === round && conn.job.kind === kind && !conn.job.done.settled) {
          this.failJob(conn, `no result within ${this.runConfig.roundTimeoutMs} ms`);
          // Tell the straggler to stop: its result would arrive for a round that has moved on.
          if (conn.socket.connected) conn.socket.emit('abort', { round, reason: 'round deadline passed' });
        }
      }
    }, this.runConfig.roundTimeoutMs);
    try {
      await Promise.all(waits);
    } finally {
      clearTimeout(timer);
    }
    return results;
  }

  private async evaluateRound(
    round: number,
    fit: FitSummary,
    startedAt: number,
    attempt: number,
  ): Promise<void> {
    const cfg = this.runConfig;
    let metrics: Record<string, number> | null = null;
    let sites: Record<string, SiteRoundMetrics> = {};
    if (round % cfg.evaluateEvery === 0 || round === cfg.rounds) {
      if (this.current) this.current = { ...this.current, phase: 'evaluate' };
      this.emit('state');
      ({ metrics, sites } = await this.evaluateGlobal(round));
    }
    for (const [name, s] of Object.entries(fit.fitSites ?? {})) {
      this.store.recordSiteMetrics({ runId: this.runId, round, hospital: name, phase: 'fit', examples: s.examples, metrics: { ...s } });
    }
    const record: RoundRecord = {
      round,
      attempt,
      startedAt,
      durationMs: Date.now() - startedAt,
      fit: { loss: fit.loss, accuracy: fit.accuracy, examples: fit.examples, hospitals: fit.hospitals, failures: fit.failures, calibratedBy: fit.calibratedBy },
      metrics,
      sites,
      fitSites: fit.fitSites ?? {},
    };
    this.store.completeRound(this.runId, round, record as unknown as Record<string, unknown>);
    this.history = this.history.filter((h) => h.round !== round).concat(record);
    this.current = this.current ? { ...this.current, phase: 'done' } : null;
    this.store.addEvent(this.runId, 'info', 'round_completed', { round, metrics, durationMs: record.durationMs });
    this.logger.log('info', 'round completed', { round, accuracy: metrics?.accuracy, loss: metrics?.loss, durationMs: record.durationMs });
    this.emit('roundEnd', record);
    this.emit('state');
  }

  /** Every connected hospital evaluates the global model on its test split; the summaries are pooled. */
  private async evaluateGlobal(round: number): Promise<{ metrics: Record<string, number> | null; sites: Record<string, SiteRoundMetrics> }> {
    const sites: Record<string, SiteRoundMetrics> = {};
    const payload = encodeWeights(this.global, { dtype: this.runConfig.fit.weightsDtype });
    const results = await this.dispatch(this.ready(), 'evaluate', round, (conn) =>
      conn.socket.emit('evaluate', { runId: this.runId, round, split: 'test', weights: payload }),
    );
    const summaries: EvaluationSummary[] = [];
    for (const [name, r] of results) {
      if (!r.ok || !r.summary || r.summary.count === 0) continue;
      summaries.push(r.summary);
      this.lastSummaries.set(name, r.summary);
      const m = computeMetrics(r.summary);
      sites[name] = { examples: r.summary.count, loss: m.loss, accuracy: m.accuracy };
      this.store.recordSiteMetrics({ runId: this.runId, round, hospital: name, phase: 'evaluate', examples: r.summary.count, metrics: { ...sites[name], summary: r.summary } });
    }
    if (summaries.length === 0) return { metrics: null, sites };
    const pooled = mergeSummaries(summaries);
    const m = computeMetrics(pooled);
    this.confusion = { classes: pooled.classes, matrix: pooled.confusion };
    writeFileSync(join(this.runDir, 'last-evaluation.json'), JSON.stringify({ round, summary: pooled }));
    return {
      metrics: {
        accuracy: m.accuracy,
        loss: m.loss,
        balancedAccuracy: m.balancedAccuracy,
        macroF1: m.macro.f1,
        macroAuc: m.macroAuc,
        kappa: m.kappa,
        ece: m.ece,
        examples: pooled.count,
      },
      sites,
    };
  }

  /** The final global model on every site's validation split (the study reports train, validation and test accuracy). */
  private async evaluateValidation(): Promise<void> {
    const round = this.runConfig.rounds;
    const payload = encodeWeights(this.global, { dtype: this.runConfig.fit.weightsDtype });
    const results = await this.dispatch(this.ready(), 'evaluate', round, (conn) =>
      conn.socket.emit('evaluate', { runId: this.runId, round, split: 'val', weights: payload }),
    );
    const summaries = [...results.values()].filter((r) => r.ok && r.summary && r.summary.count > 0).map((r) => r.summary!);
    if (summaries.length === 0) return;
    this.validation = mergeSummaries(summaries);
    writeFileSync(join(this.runDir, 'validation-evaluation.json'), JSON.stringify({ round, summary: this.validation }));
  }

  private keepLocalModel(name: string, payload: WeightsPayload): void {
    const dir = join(this.runDir, 'local');
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, Buffer.from(payload.data));
    writeFileSync(`${tmp}.json`, JSON.stringify({ manifest: payload.manifest, byteLength: payload.byteLength, checksum: payload.checksum }));
    renameSync(`${tmp}.json`, join(dir, `${name}.json`));
    renameSync(tmp, join(dir, `${name}.bin`));
  }

  /** Each hospital's last local model evaluated at every site. */
  private async crossSite(): Promise<void> {
    const dir = join(this.runDir, 'local');
    if (!existsSync(dir)) return;
    const owners = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort();
    const sites = this.ready().map((c) => c.name);
    const accuracy: number[][] = [];
    for (const owner of owners) {
      const head = JSON.parse(readFileSync(join(dir, `${owner}.json`), 'utf8'));
      const local = decodeWeights({ ...head, data: readFileSync(join(dir, `${owner}.bin`)) });
      // Tensors kept local (FedBN) come from the global model.
      const byName = new Map(local.map((t) => [t.name, t]));
      const full = this.global.map((g) => byName.get(g.name) ?? g);
      const payload = encodeWeights(full);
      const results = await this.dispatch(this.ready(), 'evaluate', this.runConfig.rounds, (conn) =>
        conn.socket.emit('evaluate', { runId: this.runId, round: this.runConfig.rounds, split: 'test', weights: payload }),
      );
      accuracy.push(sites.map((s) => (results.get(s)?.summary ? computeMetrics(results.get(s)!.summary!).accuracy : NaN)));
    }
    writeFileSync(join(this.runDir, 'cross-site.json'), JSON.stringify({ models: owners, sites, accuracy }, null, 2));
  }

  private async finishRun(status: 'complete' | 'failed' | 'stopped', error?: string): Promise<RunResult> {
    this.status = status;
    this.error = error ?? null;
    let modelDir: string | null = null;
    const final = [...this.history].reverse().find((h) => h.metrics)?.metrics ?? null;
    try {
      if (this.history.length > 0) {
        modelDir = join(this.runDir, 'model');
        rmSync(modelDir, { recursive: true, force: true });
        await saveModel(this.model, modelDir, { spec: this.spec, runId: this.runId, round: this.history.length });
      }
      const summary = this.summaryJson(final);
      writeFileSync(join(this.runDir, 'summary.json'), JSON.stringify(summary, null, 2));
      if (status === 'complete' && this.history.length > 0) await this.writeRunReport();
      this.store.setRunStatus(this.runId, status, { summary, error });
    } catch (err) {
      this.logger.log('error', 'could not finish the run cleanly', { error: String(err) });
      error = error ?? String(err);
    }
    const result: RunResult = { runId: this.runId, status, rounds: this.history, final, runDir: this.runDir, modelDir, error };
    this.store.addEvent(this.runId, status === 'complete' ? 'info' : 'error', 'run_finished', { status, error });
    this.logger.log(status === 'complete' ? 'info' : 'error', 'run finished', { status, error });
    for (const c of this.conns.values()) c.socket.emit('bye', { reason: error ?? 'run complete', finished: status === 'complete' });
    this.emit('runEnd', result);
    this.emit('state');
    return result;
  }

  summaryJson(final: Record<string, number> | null): Record<string, unknown> {
    return {
      runId: this.runId,
      status: this.status,
      classes: this.spec.classes,
      model: this.spec,
      initial: this.initial?.metrics ?? null,
      // The study's three numbers: train (last round, on training batches), validation and test accuracy.
      study: {
        trainAccuracy: this.history.at(-1)?.fit.accuracy ?? null,
        validationAccuracy: this.validation ? computeMetrics(this.validation).accuracy : null,
        testAccuracy: final?.accuracy ?? null,
      },
      rounds: this.history.map((h) => ({
        round: h.round,
        durationMs: h.durationMs,
        metrics: h.metrics,
        fit: h.fit,
        sites: h.sites,
      })),
      final,
      error: this.error,
    };
  }

  private async writeRunReport(): Promise<void> {
    const evalPath = join(this.runDir, 'last-evaluation.json');
    if (!existsSync(evalPath)) return;
    const { summary } = JSON.parse(readFileSync(evalPath, 'utf8'));
    const cross = existsSync(join(this.runDir, 'cross-site.json')) ? JSON.parse(readFileSync(join(this.runDir, 'cross-site.json'), 'utf8')) : undefined;
    const last = this.history[this.history.length - 1];
    await writeReport(this.runDir, {
      title: `fedxray run ${this.runId}`,
      classes: [...this.spec.classes],
      rounds: this.history.map((h) => ({
        round: h.round,
        global: h.metrics ? { loss: h.metrics.loss, accuracy: h.metrics.accuracy } : undefined,
        sites: Object.fromEntries(Object.entries(h.sites).map(([n, s]) => [n, { loss: s.loss, accuracy: s.accuracy }])),
      })),
      final: {
        test: summary,
        val: this.validation ?? undefined,
        train: last ? { accuracy: last.fit.accuracy, loss: last.fit.loss } : undefined,
      },
      perSite: Object.fromEntries(this.lastSummaries),
      crossSite: cross ? { sites: cross.sites, accuracy: cross.accuracy } : undefined,
      config: { model: this.spec, strategy: this.runConfig.strategy, rounds: this.runConfig.rounds, fit: this.runConfig.fit },
    });
  }

  // -------------------------------------------------------------- queries
  state(): RunState {
    return {
      run: {
        id: this.runId,
        status: this.status,
        rounds: this.runConfig.rounds,
        completedRounds: this.history.length,
        startedAt: this.startedAt,
        config: {
          model: this.spec,
          strategy: this.runConfig.strategy,
          fit: this.runConfig.fit,
          minAvailable: this.runConfig.minAvailable,
          minFit: this.runConfig.minFit,
          fractionFit: this.runConfig.fractionFit,
          keepBatchNormLocal: this.runConfig.keepBatchNormLocal,
        },
        error: this.error,
      },
      current: this.current
        ? {
            ...this.current,
            jobs: this.current.jobs.map((j) => {
              const conn = this.conns.get(j.name);
              return conn?.job && conn.job.round === this.current!.round ? { ...j, status: conn.job.status, progress: conn.job.progress } : j;
            }),
          }
        : null,
      hospitals: [...this.known.values()].map((h) => ({ ...h })),
      history: this.history,
      initial: this.initial?.metrics ?? null,
      confusion: this.confusion,
    };
  }

  /** The current global weights (a copy). */
  globalWeights(): NamedWeights {
    return this.global.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() }));
  }

  /** The last round's aggregation (null before the first): finish()'s time, the strategy's memory at the time, and whether the result reused the retired global. */
  lastAggregation(): AggregationRecord | null {
    return this.aggregated && { ...this.aggregated };
  }

  counts(): { updatesAccepted: number; updatesRefused: number; bytesReceived: number; bytesSent: number; connected: number } {
    return { ...this.counters, connected: this.ready().length };
  }

  modelDir(): string | null {
    const m = join(this.runDir, 'model');
    if (existsSync(join(m, 'model.json'))) return m;
    const cp = this.store.run(this.runId)?.checkpoint;
    return cp && existsSync(join(cp, 'model.json')) ? cp : null;
  }

  /** Stops the run (it can be resumed later), tells hospitals, closes sockets and the store. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.changed.emit('change');
    for (const c of this.conns.values()) if (c.job) this.failJob(c, 'coordinator stopping');
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
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    this.http.closeAllConnections?.();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.model?.dispose?.();
    this.strategy?.dispose();
    this.store.close();
  }
}
