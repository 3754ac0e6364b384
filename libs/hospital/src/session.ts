import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import { hospitalSocketOptions } from './transport';
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
import { InlineTrainer, type FitProgress, type LocalTrainer } from './trainer';
import { WorkerTrainer } from './worker-trainer';

export interface HospitalEvents {
  connected: [{ url: string }];
  welcome: [Welcome];
  disconnected: [{ reason: string }];
  refused: [{ code: string; message: string; fatal: boolean }];
  fitStart: [{ round: number }];
  progress: [{ round: number; phase: 'fit' | 'evaluate'; progress: FitProgress }];
  fitDone: [{ round: number; loss: number; accuracy: number; examples: number; durationMs: number; accepted: boolean; error?: string }];
  evaluateDone: [{ round: number; examples: number; durationMs: number }];
  error: [Error];
  finished: [{ reason: string; finished: boolean }];
}

const FATAL: ReadonlySet<string> = new Set(['unauthorized', 'revoked', 'bad_version', 'bad_message']);

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
  private failedAttempts = 0;
  private closed = false;

  private constructor(
    config: HospitalConfig,
    readonly trainer: LocalTrainer,
  ) {
    super();
    this.config = config;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
  }

  static async start(input: HospitalConfigInput): Promise<Hospital> {
    const parsed = HospitalConfigSchema.safeParse(input);
    if (!parsed.success) throw new Error(`Invalid hospital config: ${describeZodError(parsed.error)}`);
    const config = parsed.data;
    const trainer = config.worker ? await WorkerTrainer.create(config.trainer) : await InlineTrainer.create(config.trainer);
    const h = new Hospital(config, trainer);
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
      ca: cfg.ca ? readFileSync(cfg.ca) : undefined,
    } as any);
    const s = this.socket;
    s.on('connect', () => {
      this.failedAttempts = 0;
      this.emit('connected', { url: cfg.coordinator });
      const facts = this.trainer.facts();
      s.emit('hello', { software: 'fedxray/0.1.0', backend: this.trainer.backend(), classes: facts.classes, examples: facts.examples }, (ack: Ack) => {
        if (!ack.ok) this.fatal(ack.error.code, ack.error.message);
      });
      this.startHeartbeat();
    });
    s.on('connect_error', (err: Error & { data?: { code?: ErrorCode; message?: string } }) => {
      const code = err.data?.code;
      if (code && FATAL.has(code)) return this.fatal(code, err.data?.message ?? err.message);
      this.failedAttempts++;
      this.emit('refused', { code: code ?? 'network', message: err.data?.message ?? err.message, fatal: false });
      if (cfg.maxReconnectAttempts && this.failedAttempts >= cfg.maxReconnectAttempts) {
        return this.fatal('network', `Gave up after ${this.failedAttempts} connection attempts: ${err.message}`);
      }
      // A refusal by the server's middleware is not retried by socket.io itself.
      if (code && !this.closed) {
        const delay = Math.min(cfg.reconnectDelayMaxMs, cfg.reconnectDelayMs * 2 ** Math.min(this.failedAttempts, 10)) * (0.75 + Math.random() / 2);
        setTimeout(() => !this.closed && !s.connected && s.connect(), delay).unref();
      }
    });
    s.on('disconnect', (reason) => {
      this.stopHeartbeat();
      this.emit('disconnected', { reason });
      if (reason === 'io server disconnect' && !this.closed) {
        // The server closed us (e.g. it restarted); come back after a pause.
        setTimeout(() => !this.closed && s.connect(), cfg.reconnectDelayMs).unref();
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

  private fatal(code: string, message: string): void {
    this.emit('refused', { code, message, fatal: true });
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
      const out = await this.trainer.fit(weights, msg.config, (p) => {
        this.emit('progress', { round: msg.round, phase: 'fit', progress: p });
        if (this.socket.connected) this.socket.emit('progress', { round: msg.round, phase: 'fit', ...p });
      });
      const payload = encodeWeights(out.weights, { dtype: msg.config.weightsDtype });
      const durationMs = Date.now() - started;
      const ack = await this.send('fitResult', { runId: msg.runId, round: msg.round, examples: out.examples, metrics: out.metrics, durationMs, weights: payload });
      this.emit('fitDone', {
        round: msg.round,
        ...out.metrics,
        examples: out.examples,
        durationMs,
        accepted: ack.ok,
        error: ack.ok ? undefined : `${ack.error.code}: ${ack.error.message}`,
      });
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
      const summary = await this.trainer.evaluate(weights, msg.split, (p) => {
        this.emit('progress', { round: msg.round, phase: 'evaluate', progress: p });
        if (this.socket.connected) this.socket.emit('progress', { round: msg.round, phase: 'evaluate', ...p });
      });
      const durationMs = Date.now() - started;
      await this.send('evaluateResult', { runId: msg.runId, round: msg.round, split: msg.split, summary, durationMs });
      this.emit('evaluateDone', { round: msg.round, examples: summary.count, durationMs });
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
      const { stats, examples } = await this.trainer.calibrate(weights, msg.maxExamples);
      await this.send('calibrateResult', { runId: msg.runId, round: msg.round, examples, durationMs: Date.now() - started, stats: encodeWeights(stats) });
    } catch (err) {
      this.reportFailure(msg.runId, msg.round, 'calibrate', err);
    } finally {
      this.phase = 'idle';
    }
  }

  private send(event: 'fitResult' | 'evaluateResult' | 'calibrateResult', msg: any): Promise<Ack> {
    return new Promise<Ack>((resolve) => {
      if (!this.socket.connected) return resolve({ ok: false, error: { code: 'internal', message: 'not connected' } });
      this.socket.timeout(10 * 60_000).emit(event as 'fitResult', msg, (err: Error | null, ack: Ack) =>
        resolve(err ? { ok: false, error: { code: 'internal', message: `no acknowledgement: ${err.message}` } } : ack),
      );
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
    this.socket?.disconnect();
    await this.trainer.close();
  }
}
