import { EventEmitter } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import { hospitalSocketOptions, tlsOptions } from './transport';
import {
  PROTOCOL_VERSION,
  CalibrateSchema,
  EvaluateSchema,
  FitSchema,
  WelcomeSchema,
  AbortSchema,
  ByeSchema,
  decodeWeights,
  describeZodError,
  encodeWeights,
  type Ack,
  type ErrorCode,
  type HospitalToServerEvents,
  type ServerToHospitalEvents,
  type Welcome,
  type WeightsPayload,
} from '@fedxray/protocol';
import { HospitalConfigSchema, type HospitalConfig, type HospitalConfigInput } from './config';
import { diagnoseConnectError, probeTls, type ConnectionDiagnosis } from './connection';
import { explainDisconnect } from './disconnect';
import { InlineTrainer, type FitProgress, type LocalTrainer } from './trainer';
import { WorkerTrainer } from './worker-trainer';
import { SecureParticipant } from './secure-client';

/** A failed attempt to reach the coordinator, as reported to the operator. */
export interface ConnectFailure extends ConnectionDiagnosis {
  /** Consecutive failed attempts so far. */
  attempts: number;
  /** Milliseconds since the first failed attempt of this streak. */
  failingForMs: number;
  /** For a cause retrying cannot fix: milliseconds left before the hospital gives up. */
  giveUpInMs?: number;
}

/**
 * What became of a result the hospital computed: `accepted` by the
 * coordinator, `refused` by it (with its code), `not-sent` because the
 * connection was gone when it was ready, or `unacknowledged` (sent, no answer).
 */
export type Delivery = 'accepted' | 'refused' | 'not-sent' | 'unacknowledged';

export interface HospitalEvents {
  connected: [{ url: string }];
  welcome: [Welcome];
  /** The connection dropped while the session goes on; the hospital reconnects by itself. (Not emitted when it leaves.) */
  disconnected: [{ reason: string; explanation: string }];
  /**
   * The coordinator could not be reached: emitted on the first failure of a
   * streak, whenever the cause changes, and every `reportEveryMs` while it lasts.
   */
  connectFailed: [ConnectFailure];
  /** A refusal or failure that ends the session (`done` rejects with the same message). */
  refused: [{ code: string; message: string }];
  fitStart: [{ round: number }];
  progress: [{ round: number; phase: 'fit' | 'evaluate'; progress: FitProgress }];
  fitDone: [{ round: number; loss: number; accuracy: number; examples: number; durationMs: number; delivery: Delivery; accepted: boolean; error?: string }];
  evaluateDone: [{ round: number; split: 'val' | 'test'; examples: number; durationMs: number; delivery: Delivery; error?: string }];
  error: [Error];
  finished: [{ reason: string; finished: boolean }];
}

/** Error text safe to send: file paths are redacted, since a hospital never sends file names. */
export function redact(message: string): string {
  return message.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s'"`:,;()]+)+/g, '<path>').slice(0, 1000);
}

/**
 * A hospital's session with the coordinator: connects (and reconnects with
 * backoff), introduces itself with aggregate counts only, trains and
 * evaluates when asked, heartbeats throughout. `done` resolves when the
 * coordinator says the run is over, or rejects on a fatal refusal.
 */
export class Hospital extends EventEmitter<HospitalEvents> {
  readonly config: HospitalConfig;
  readonly done: Promise<{ reason: string; finished: boolean }>;
  private socket!: Socket<ServerToHospitalEvents, HospitalToServerEvents>;
  private welcome: Welcome | null = null;
  private phase: 'idle' | 'fit' | 'calibrate' | 'evaluate' = 'idle';
  private round = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private busy: Promise<void> = Promise.resolve();
  private resolveDone!: (v: { reason: string; finished: boolean }) => void;
  private rejectDone!: (e: Error) => void;
  /** The current run of failed connection attempts, null while connected. */
  private streak: { since: number; attempts: number; boundedSince: number | null; lastCause: string; lastReportAt: number; speaksTls?: boolean } | null = null;
  private diagnosing: Promise<void> = Promise.resolve();
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly secure: SecureParticipant;

  private constructor(
    config: HospitalConfig,
    readonly trainer: LocalTrainer,
    private readonly tls: ReturnType<typeof tlsOptions>,
  ) {
    super();
    this.config = config;
    this.secure = new SecureParticipant(undefined, config.roundingSeed);
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  /**
   * Validates the config, builds the trainer (in a worker thread unless
   * `worker: false`) and starts connecting. `options.trainer` replaces the
   * trainer the config describes (a simulation's own, or a test's).
   */
  static async start(input: HospitalConfigInput, options: { trainer?: LocalTrainer } = {}): Promise<Hospital> {
    const parsed = HospitalConfigSchema.safeParse(input);
    if (!parsed.success) throw new Error(`Invalid hospital config: ${describeZodError(parsed.error)}`);
    const config = parsed.data;
    const tls = tlsOptions(config);
    const trainer = options.trainer ?? (config.worker ? await WorkerTrainer.create(config.trainer) : await InlineTrainer.create(config.trainer));
    if (trainer.facts().withImages.length === 0) {
      await trainer.close();
      throw new Error(`Expected at least one readable image in a class folder of ${'dir' in config.trainer.data ? config.trainer.data.dir : 'the data'}, but found none`);
    }
    const h = new Hospital(config, trainer, tls);
    h.connect();
    return h;
  }

  private connect(): void {
    const cfg = this.config;
    this.socket = io(cfg.coordinator, {
      ...hospitalSocketOptions(cfg.maskFrames),
      auth: { protocolVersion: PROTOCOL_VERSION, token: cfg.token },
      reconnection: true,
      reconnectionDelay: cfg.reconnectDelayMs,
      reconnectionDelayMax: cfg.reconnectDelayMaxMs,
      reconnectionAttempts: cfg.maxReconnectAttempts || Infinity,
      randomizationFactor: 0.5,
      ...this.tls,
    } as any);
    const s = this.socket;
    this.secure.attach(s);
    s.on('connect', () => {
      this.streak = null;
      this.emit('connected', { url: cfg.coordinator });
      const facts = this.trainer.facts();
      s.emit('hello', { software: 'fedxray/0.1.0', backend: this.trainer.backend(), classes: facts.withImages, examples: facts.examples }, (ack: Ack) => {
        if (!ack.ok) this.fatal(ack.error.code, `refused by the coordinator (${ack.error.code}): ${ack.error.message}`);
      });
      this.startHeartbeat();
    });
    s.on('connect_error', (err: Error & { data?: { code?: ErrorCode; message?: string } }) => {
      this.diagnosing = this.diagnosing.then(() => this.connectFailed(err));
    });
    s.on('disconnect', (reason) => {
      this.stopHeartbeat();
      if (this.closed) return;
      this.emit('disconnected', { reason, explanation: explainDisconnect(reason) });
      if (reason === 'io server disconnect') {
        // The server closed us (e.g. it restarted); come back after a pause.
        this.retryLater(cfg.reconnectDelayMs);
      }
    });
    s.on('welcome', (msg) => {
      const w = WelcomeSchema.safeParse(msg);
      if (!w.success) return this.emit('error', new Error(`Bad welcome: ${describeZodError(w.error)}`));
      this.welcome = w.data;
      this.startHeartbeat();
      this.busy = this.busy.then(() =>
        this.trainer.setup(w.data.model, w.data.classes).then(
          () => void this.emit('welcome', w.data),
          (err) => this.fatal('bad_message', `Cannot build the run's model here: ${err instanceof Error ? err.message : err}`),
        ),
      );
    });
    s.on('fit', (msg) => {
      const f = FitSchema.safeParse(msg);
      if (!f.success) return this.emit('error', new Error(`Bad fit: ${describeZodError(f.error)}`));
      this.busy = this.busy.then(() => this.doFit(f.data));
    });
    s.on('evaluate', (msg) => {
      const e = EvaluateSchema.safeParse(msg);
      if (!e.success) return this.emit('error', new Error(`Bad evaluate: ${describeZodError(e.error)}`));
      this.busy = this.busy.then(() => this.doEvaluate(e.data));
    });
    s.on('calibrate', (msg) => {
      const c = CalibrateSchema.safeParse(msg);
      if (!c.success) return this.emit('error', new Error(`Bad calibrate: ${describeZodError(c.error)}`));
      this.busy = this.busy.then(() => this.doCalibrate(c.data));
    });
    s.on('abort', (msg) => {
      if (AbortSchema.safeParse(msg).success) this.trainer.abort();
    });
    s.on('bye', (msg) => {
      const b = ByeSchema.safeParse(msg);
      const v = b.success ? b.data : { reason: 'run over', finished: false };
      this.emit('finished', v);
      this.resolveDone(v);
      void this.close();
    });
  }

  /** One failed connection attempt: name its cause, report it, and retry or give up. */
  private async connectFailed(err: Error & { data?: { code?: string; message?: string } }): Promise<void> {
    if (this.closed) return;
    const cfg = this.config;
    const now = Date.now();
    const streak = (this.streak ??= { since: now, attempts: 0, boundedSince: null, lastCause: '', lastReportAt: 0 });
    streak.attempts++;
    const reset = !err.data?.code && /ECONNRESET|socket hang up/i.test(`${(err as any).description?.error?.code} ${(err as any).description?.message}`);
    if (reset && cfg.coordinator.startsWith('http:') && streak.speaksTls === undefined) streak.speaksTls = await probeTls(cfg.coordinator);
    if (this.closed) return;
    const d = diagnoseConnectError(err, cfg.coordinator, streak.speaksTls);
    if (d.retry === 'fatal') return this.fatal(d.code ?? 'unauthorized', `${d.cause}; ${d.suggestion}`);
    streak.boundedSince = d.retry === 'bounded' ? (streak.boundedSince ?? now) : null;
    const giveUpInMs = streak.boundedSince === null ? undefined : Math.max(0, streak.boundedSince + cfg.giveUpAfterMs - now);
    const changed = d.cause !== streak.lastCause;
    if (changed || now - streak.lastReportAt >= cfg.reportEveryMs) {
      streak.lastCause = d.cause;
      streak.lastReportAt = now;
      this.emit('connectFailed', { ...d, attempts: streak.attempts, failingForMs: now - streak.since, giveUpInMs });
    }
    if (giveUpInMs === 0) {
      return this.fatal(d.code ?? 'network', `Gave up connecting to ${cfg.coordinator} after ${Math.round((now - streak.since) / 1000)} s and ${streak.attempts} attempts: ${d.cause}; ${d.suggestion}`);
    }
    if (cfg.maxReconnectAttempts && streak.attempts >= cfg.maxReconnectAttempts) {
      return this.fatal(d.code ?? 'network', `Gave up connecting to ${cfg.coordinator} after ${streak.attempts} attempts: ${d.cause}`);
    }
    // A refusal by the server's middleware is not retried by socket.io itself.
    if (err.data?.code) {
      const delay = Math.min(cfg.reconnectDelayMaxMs, cfg.reconnectDelayMs * 2 ** Math.min(streak.attempts, 10)) * (0.75 + Math.random() / 2);
      this.retryLater(delay);
    }
  }

  /**
   * Connects again after `delay` ms. The timer keeps the process alive: a
   * hospital waiting to reconnect has nothing else running (no socket, and
   * with --no-worker no trainer thread), and must not just exit.
   */
  private retryLater(delay: number): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, delay);
  }

  private fatal(code: string, message: string): void {
    this.emit('refused', { code, message });
    this.rejectDone(Object.assign(new Error(message), { code }));
    void this.close();
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.welcome?.heartbeatIntervalMs ?? 5000;
    this.heartbeat = setInterval(() => {
      if (this.socket.connected) this.socket.emit('heartbeat', { round: this.round, phase: this.phase });
    }, every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private async doFit(msg: import('@fedxray/protocol').Fit): Promise<void> {
    const started = Date.now();
    this.phase = 'fit';
    this.round = msg.round;
    this.emit('fitStart', { round: msg.round });
    try {
      const weights = decodeWeights(msg.weights as WeightsPayload);
      if (msg.secure) this.secure.checkReady(msg.secure);
      // A summed round, or a hospital that withholds them, sends no training numbers of its own, not even in progress.
      const withhold = this.config.withholdMetrics || msg.secure !== undefined;
      const out = await this.trainer.fit(weights, msg.config, (p) => {
        this.emit('progress', { round: msg.round, phase: 'fit', progress: p });
        if (this.socket.connected) this.socket.emit('progress', { round: msg.round, phase: 'fit', epoch: p.epoch, epochs: p.epochs, done: p.done, total: p.total, ...(withhold || p.loss === undefined ? {} : { loss: p.loss }) });
      });
      const durationMs = Date.now() - started;
      // A summed round sends the packed (masked) update only; a plain one, the weights.
      const result = msg.secure
        ? { runId: msg.runId, round: msg.round, durationMs, input: this.secure.contribution(msg.secure, weights, out.weights, msg.config.keepLocal, { examples: out.examples, ...out.metrics }).input }
        : { runId: msg.runId, round: msg.round, examples: out.examples, ...(withhold ? {} : { metrics: out.metrics }), durationMs, weights: encodeWeights(out.weights, { dtype: msg.config.weightsDtype }) };
      const sent = await this.send('fitResult', result);
      this.emit('fitDone', { round: msg.round, ...out.metrics, examples: out.examples, durationMs, ...sent, accepted: sent.delivery === 'accepted' });
    } catch (err) {
      this.reportFailure(msg.runId, msg.round, 'fit', err);
    } finally {
      this.phase = 'idle';
    }
  }

  private async doEvaluate(msg: import('@fedxray/protocol').Evaluate): Promise<void> {
    const started = Date.now();
    this.phase = 'evaluate';
    this.round = msg.round;
    try {
      const weights = decodeWeights(msg.weights as WeightsPayload);
      if (msg.secure) this.secure.checkReady(msg.secure);
      const summary = await this.trainer.evaluate(weights, msg.split, (p) => {
        this.emit('progress', { round: msg.round, phase: 'evaluate', progress: p });
        if (this.socket.connected) this.socket.emit('progress', { round: msg.round, phase: 'evaluate', ...p });
      });
      const durationMs = Date.now() - started;
      // Under secure aggregation the summary goes into the sum, masked; never in the clear.
      const result = msg.secure ? { runId: msg.runId, round: msg.round, split: msg.split, durationMs, input: this.secure.evaluation(msg.secure, summary) } : { runId: msg.runId, round: msg.round, split: msg.split, summary, durationMs };
      const sent = await this.send('evaluateResult', result);
      this.emit('evaluateDone', { round: msg.round, split: msg.split, examples: summary.count, durationMs, ...sent });
    } catch (err) {
      this.reportFailure(msg.runId, msg.round, 'evaluate', err);
    } finally {
      this.phase = 'idle';
    }
  }

  private async doCalibrate(msg: import('@fedxray/protocol').Calibrate): Promise<void> {
    const started = Date.now();
    this.phase = 'calibrate';
    this.round = msg.round;
    try {
      const weights = decodeWeights(msg.weights as WeightsPayload);
      if (msg.secure) this.secure.checkReady(msg.secure);
      const { stats, examples } = await this.trainer.calibrate(weights, msg.maxExamples, msg.trainable, msg.target);
      const durationMs = Date.now() - started;
      // Under secure aggregation the statistics go into the sum, masked; never in the clear.
      const summed = msg.secure && (msg.target === 'head' ? this.secure.headStatistics(msg.secure, weights, { stats, examples }) : this.secure.calibration(msg.secure, weights, { stats, examples }));
      await this.send('calibrateResult', summed ? { runId: msg.runId, round: msg.round, durationMs, input: summed } : { runId: msg.runId, round: msg.round, examples, durationMs, stats: encodeWeights(stats) });
    } catch (err) {
      this.reportFailure(msg.runId, msg.round, 'calibrate', err);
    } finally {
      this.phase = 'idle';
    }
  }

  /** Sends a result and says what became of it (see Delivery). */
  private send(event: 'fitResult' | 'evaluateResult' | 'calibrateResult', msg: any): Promise<{ delivery: Delivery; error?: string }> {
    return new Promise((resolve) => {
      if (!this.socket.connected) return resolve({ delivery: 'not-sent', error: 'no connection to the coordinator when the result was ready' });
      const waitMs = 10 * 60_000;
      this.socket.timeout(waitMs).emit(event as 'fitResult', msg, (err: Error | null, ack: Ack) => {
        if (err) resolve({ delivery: 'unacknowledged', error: `sent, but the coordinator did not acknowledge it within ${waitMs / 60_000} min` });
        else if (ack.ok) resolve({ delivery: 'accepted' });
        else resolve({ delivery: 'refused', error: `${ack.error.code}: ${ack.error.message}` });
      });
    });
  }

  private reportFailure(runId: string, round: number, phase: 'fit' | 'calibrate' | 'evaluate', err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.emit('error', new Error(`${phase} failed in round ${round}: ${message}`));
    if (this.socket.connected) this.socket.emit('failure', { runId, round, phase, error: { code: 'internal', message: redact(message) } });
  }

  /** Leaves the federation: closes the socket and the trainer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopHeartbeat();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.disconnect();
    await this.trainer.close();
  }
}
