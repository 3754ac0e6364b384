// The hub: socket.io over HTTP(S), hospital authentication, connections and
// what each hospital said of itself, jobs sent and their answers, heartbeats.
import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Server as IoServer, type Namespace } from 'socket.io';
import {
  PROTOCOL_VERSION,
  FailureSchema,
  HandshakeAuthSchema,
  HeartbeatSchema,
  HelloSchema,
  ProgressSchema,
  describeZodError,
  type Ack,
  type HospitalToServerEvents,
  type ServerToHospitalEvents,
  type WireError,
} from '@fedxray/protocol';
import { serveDashboard } from './dashboard-feed';
import { CredentialWatch } from './credential-watch';
import { identifyHospital, refusalMessage } from './identity';
import { DASHBOARD_INTERVAL_MS, serverTransportOptions, type HubOptions, type JobFailedHandler } from './hub-options';
import { refuseHospitalClasses } from './class-check';
import { deferred } from './deferred';
import { Door } from './door';
import { RESULT_SCHEMAS, wireError } from './intake';
import { JOB_STATUS, NO_ANSWER, type Connection, type HospitalSocket, type Job, type JobKind, type JobOutcome, type JobSpec } from './jobs';
import type { Recorder } from './record';
import type { HospitalRegistry } from './registry';
import type { HospitalState, RunState } from './state';

export class Hub {
  url = '';
  /** Set when the run has ended (bye sent): later hospitals get the same bye. */
  private ended: { reason: string; finished: boolean } | null = null;
  /** When each expelled hospital was expelled. */
  private readonly expelled = new Map<string, number>();
  private http!: HttpServer;
  private io!: IoServer<HospitalToServerEvents, ServerToHospitalEvents>;
  private readonly conns = new Map<string, Connection>();
  private readonly known = new Map<string, HospitalState>();
  private readonly changed = new EventEmitter();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private door!: Door;
  private feed: { changed(): void; close(): void } | null = null;
  private readonly watch: CredentialWatch;

  constructor(
    private readonly options: HubOptions,
    private readonly registry: HospitalRegistry,
    private readonly recorder: Recorder,
    private readonly onJobFailed: JobFailedHandler,
  ) {
    this.changed.setMaxListeners(0);
    this.watch = new CredentialWatch(registry);
  }

  /** Listens; serves `http` for plain requests and the dashboard's socket.io namespace with `state()`. */
  async listen(http: (req: IncomingMessage, res: ServerResponse) => void, state: () => RunState): Promise<string> {
    const o = this.options;
    this.http = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, requestCert: true, rejectUnauthorized: false }, http) : createHttpServer(http);
    this.io = new IoServer(this.http, serverTransportOptions(o.maxPayloadBytes));
    this.door = new Door(o, this.recorder.logger);
    this.door.install(this.io);
    this.io.use((socket, next) => this.authenticate(socket as HospitalSocket, next));
    this.io.on('connection', (socket) => this.onConnection(socket as HospitalSocket));
    const feed = serveDashboard(this.io.of('/dashboard') as unknown as Namespace, state, {
      dashboardToken: o.dashboardToken,
      trustProxy: o.trustProxy,
      maxConnections: o.maxDashboardConnections,
      intervalMs: DASHBOARD_INTERVAL_MS,
      admitted: (socket) => this.door.trust(socket),
      wrongToken: (address) => this.door.readerRefused(address),
    });
    this.feed = feed;
    this.recorder.events.on('state', () => feed.changed());
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(o.port, o.host, () => resolve());
    });
    const addr = this.http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.url = `${o.tls ? 'https' : 'http'}://${host}:${addr.port}`;
    this.heartbeatTimer = setInterval(() => this.checkHeartbeats(), Math.min(o.heartbeatIntervalMs, 1000));
    this.heartbeatTimer.unref();
    return this.url;
  }

  /** The throttle of failed authentications, for the HTTP API's dashboard tokens (undefined before listen). */
  get readers(): Door | undefined {
    return this.door;
  }

  /** Hospitals expelled (credential revoked or rotated) at or after `since` (ms since the epoch), checked now. */
  expelledSince(since: number): Set<string> {
    this.expelRetired();
    return new Set([...this.expelled].filter(([, at]) => at >= since).map(([name]) => name));
  }

  /** Hospitals connected and greeted, in name order (a hospital whose credential was just revoked or rotated is not among them). */
  ready(): Connection[] {
    this.expelRetired();
    return [...this.conns.values()].filter((c) => c.hello !== null).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every hospital seen in this run (a copy). */
  hospitals(): HospitalState[] {
    return [...this.known.values()].map((h) => ({ ...h }));
  }

  hospital(name: string): HospitalState {
    let st = this.known.get(name);
    if (!st) {
      st = { name, connected: false, lastSeen: null, backend: null, software: null, examples: null, lastLoss: null, lastAccuracy: null, failures: 0, roundsContributed: 0 };
      this.known.set(name, st);
    }
    return st;
  }

  /** The job a hospital is doing now, if any. */
  jobOf(name: string): Job | null {
    return this.conns.get(name)?.job ?? null;
  }

  /** Resolves at the next connection change, or after `ms`. */
  nextChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.changed.off('change', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.changed.once('change', done);
    });
  }

  /** Wakes whoever waits in nextChange (e.g. a stop). */
  poke(): void {
    this.changed.emit('change');
  }

  /**
   * Sends one job to each hospital and waits for every answer, or the
   * deadline: a hospital still working then fails its job and is told to abort.
   */
  async dispatch<M extends { runId: string; round: number }, T>(targets: Connection[], spec: JobSpec<M, T>, timeoutMs: number): Promise<Map<string, JobOutcome<T>>> {
    const results = new Map<string, JobOutcome<T>>();
    const waits = targets.map(async (conn) => {
      const done = deferred<JobOutcome<T>>();
      const job: Job = {
        kind: spec.kind,
        round: spec.round,
        attempt: spec.attempt,
        status: JOB_STATUS[spec.kind],
        progress: null,
        settled: () => done.settled,
        fail: (error) => {
          if (done.settled) return false;
          job.status = 'failed';
          done.resolve({ ok: false, error });
          return true;
        },
        receive: (raw) => this.receive(conn, job, spec, raw, (value) => done.resolve({ ok: true, value })),
      };
      conn.job = job;
      conn.lastSeen = Date.now();
      try {
        spec.send(conn);
      } catch (err) {
        this.failJob(conn, `could not send the ${spec.kind} request: ${err instanceof Error ? err.message : String(err)}`);
      }
      const outcome = await done.promise;
      if (conn.job === job) conn.job = null;
      results.set(conn.name, outcome);
      spec.settled?.(conn.name, outcome);
    });
    const timer = setTimeout(() => {
      for (const conn of targets) {
        if (conn.job?.round === spec.round && conn.job.kind === spec.kind && !conn.job.settled()) {
          this.failJob(conn, NO_ANSWER.deadline(timeoutMs));
          // Tell the straggler to stop: its result would arrive for a round that has moved on.
          if (conn.socket.connected) conn.socket.emit('abort', { round: spec.round, reason: 'round deadline passed' });
        }
      }
    }, timeoutMs);
    try {
      await Promise.all(waits);
    } finally {
      clearTimeout(timer);
    }
    return results;
  }

  /** Ends a hospital's current job as failed, and has it written down; `refusal` when a check refused its answer. */
  failJob(conn: Connection, error: string, refusal?: WireError): void {
    const job = conn.job;
    if (!job || !job.fail(error)) return;
    this.hospital(conn.name).failures++;
    this.onJobFailed({ round: job.round, attempt: job.attempt, hospital: conn.name, phase: job.kind, error, refusal });
  }

  /** Stops every job (the coordinator is stopping). */
  failAll(error: string): void {
    for (const c of this.conns.values()) if (c.job) this.failJob(c, error);
  }

  /** Tells every hospital the run is over. */
  bye(reason: string, finished: boolean): void {
    this.ended = { reason, finished };
    for (const c of this.conns.values()) c.socket.emit('bye', { reason, finished });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.feed?.close();
    this.door?.close();
    if (!this.http) return;
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
    this.http.closeAllConnections?.();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ------------------------------------------------------------ hospitals
  private authenticate(socket: HospitalSocket, next: (err?: Error) => void): void {
    const { address } = this.door.caller({ headers: socket.handshake.headers, socket: { remoteAddress: socket.handshake.address } });
    const refuse = (code: WireError['code'], message: string, name?: string) => {
      this.door.refused(socket, address, code, message);
      this.recorder.emit(['hospital', { name: name ?? '?', event: 'refused', reason: message }]);
      next(Object.assign(new Error(message), { data: { code, message } }));
    };
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) return refuse('bad_message', `Bad handshake: ${describeZodError(auth.error)}`);
    if (auth.data.protocolVersion !== PROTOCOL_VERSION) {
      return refuse('bad_version', `This coordinator speaks protocol version ${PROTOCOL_VERSION}, but the hospital speaks ${auth.data.protocolVersion}: upgrade the older side`);
    }
    const who = identifyHospital(this.registry, auth.data.token, socket.request.socket, this.options.checkCertificate);
    if (!who.ok) return refuse(who.code, who.message);
    this.door.authenticated(address);
    if (this.conns.has(who.name)) {
      return refuse('already_connected', `Hospital ${who.name} is already connected; a second connection with the same credential (token or certificate) is refused`, who.name);
    }
    socket.data.name = who.name;
    socket.data.credential = who.credential;
    next();
  }

  private onConnection(socket: HospitalSocket): void {
    // The run is over but the coordinator still serves its results: a hospital that comes now is told so.
    if (this.ended) return void socket.emit('bye', this.ended);
    const name = socket.data.name as string;
    const conn: Connection = { name, socket, hello: null, lastSeen: Date.now(), job: null };
    this.conns.set(name, conn);
    const st = this.hospital(name);
    st.connected = true;
    st.lastSeen = Date.now();
    socket.on('hello', (msg, ack) => this.guard(ack, () => this.onHello(conn, msg)));
    socket.on('fitResult', (msg, ack) => this.guard(ack, () => this.onResult(conn, 'fit', msg)));
    socket.on('evaluateResult', (msg, ack) => this.guard(ack, () => this.onResult(conn, 'evaluate', msg)));
    socket.on('calibrateResult', (msg, ack) => this.guard(ack, () => this.onResult(conn, 'calibrate', msg)));
    socket.on('heartbeat', (msg) => {
      if (HeartbeatSchema.safeParse(msg).success) this.touch(conn);
    });
    socket.on('progress', (msg) => {
      const p = ProgressSchema.safeParse(msg);
      if (!p.success || !conn.job || conn.job.round !== p.data.round) return;
      this.touch(conn);
      conn.job.progress = { epoch: p.data.epoch, epochs: p.data.epochs, done: p.data.done, total: p.data.total, loss: p.data.loss };
      this.recorder.emit(['progress', { round: p.data.round, hospital: name, progress: conn.job.progress }]);
      this.recorder.emit(['state']);
    });
    socket.on('failure', (msg) => {
      const f = FailureSchema.safeParse(msg);
      if (!f.success || f.data.runId !== this.options.runId || !conn.job || conn.job.round !== f.data.round || conn.job.kind !== f.data.phase) return;
      this.failJob(conn, `${f.data.error.code}: ${f.data.error.message}`);
    });
    socket.on('disconnect', (reason) => {
      if (this.conns.get(name) === conn) this.conns.delete(name);
      st.connected = false;
      if (conn.job) this.failJob(conn, `disconnected (${reason})`);
      this.recorder.record('info', 'hospital_left', { hospital: name, reason }, ['hospital', { name, event: 'left', reason }]);
      this.poke();
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
    this.hospital(conn.name).lastSeen = conn.lastSeen;
  }

  private onHello(conn: Connection, msg: unknown): Ack {
    const hello = HelloSchema.safeParse(msg);
    if (!hello.success) return { ok: false, error: { code: 'bad_message', message: `Bad hello: ${describeZodError(hello.error)}` } };
    const { classes } = this.options;
    const message = refuseHospitalClasses(conn.name, classes, hello.data.classes, this.options.minHospitalClasses ?? 1);
    if (message) {
      this.recorder.logger.log('warn', 'hospital refused', { hospital: conn.name, reason: message });
      setImmediate(() => conn.socket.disconnect(true));
      return { ok: false, error: { code: 'bad_message', message } };
    }
    conn.hello = hello.data;
    this.door.trust(conn.socket);
    this.touch(conn);
    const st = this.hospital(conn.name);
    st.backend = hello.data.backend;
    st.software = hello.data.software;
    st.examples = hello.data.examples;
    const o = this.options;
    conn.socket.emit('welcome', {
      protocolVersion: PROTOCOL_VERSION,
      runId: o.runId,
      hospitalId: conn.name,
      hospitalName: conn.name,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      maxPayloadBytes: o.maxPayloadBytes,
      model: o.model,
      classes: [...classes],
    });
    this.recorder.record('info', 'hospital_joined', { hospital: conn.name, backend: hello.data.backend, examples: hello.data.examples }, ['hospital', { name: conn.name, event: 'joined' }]);
    this.poke();
    return { ok: true };
  }

  /** A result message: the pending job of that kind takes it; anything else is answered with why not. */
  private async onResult(conn: Connection, kind: JobKind, raw: unknown): Promise<Ack> {
    const job = conn.job;
    if (job && job.kind === kind && !job.settled()) return job.receive(raw);
    const parsed = RESULT_SCHEMAS[kind](raw);
    if (!parsed.ok) return { ok: false, error: parsed.error };
    return { ok: false, error: { code: 'stale_round', message: `No ${kind} job for round ${parsed.value.round} is pending for ${conn.name}` } };
  }

  private async receive<M extends { runId: string; round: number }, T>(conn: Connection, job: Job, spec: JobSpec<M, T>, raw: unknown, accepted: (value: T) => void): Promise<Ack> {
    const parsed = spec.parse(raw);
    if (!parsed.ok) {
      this.failJob(conn, parsed.error.message, parsed.error);
      return { ok: false, error: parsed.error };
    }
    const stale: Ack = { ok: false, error: { code: 'stale_round', message: `No ${spec.kind} job for round ${parsed.value.round} is pending for ${conn.name}` } };
    if (parsed.value.runId !== this.options.runId || parsed.value.round !== job.round || (spec.answers && !spec.answers(parsed.value)) || job.settled()) return stale;
    this.touch(conn);
    let verdict;
    try {
      verdict = await spec.accept(conn, parsed.value);
    } catch (err) {
      verdict = { ok: false as const, error: wireError(err) };
    }
    if (job.settled()) return stale;
    if (!verdict.ok) {
      this.failJob(conn, `${verdict.error.code}: ${verdict.error.message}`, verdict.error);
      return { ok: false, error: verdict.error };
    }
    job.status = 'done';
    accepted(verdict.value);
    this.recorder.emit(['state']);
    return { ok: true };
  }

  /** Disconnects at once every hospital whose credential was revoked or rotated (here or by another process) since it connected. */
  private expelRetired(): void {
    // A closed hub (and its registry's database) has nobody left to expel.
    if (this.closed) return;
    const connected = [...this.conns.values()].map((c) => ({ name: c.name, credential: c.socket.data.credential as string }));
    for (const { name, reason } of this.watch.retired(connected)) {
      const conn = this.conns.get(name)!;
      const message = refusalMessage(reason, 'credential', name);
      this.conns.delete(name);
      this.hospital(name).connected = false;
      this.failJob(conn, message);
      this.expelled.set(name, Date.now());
      this.recorder.record('warn', 'hospital_expelled', { hospital: name, reason, message });
      conn.socket.disconnect(true);
      this.poke();
    }
  }

  private checkHeartbeats(): void {
    this.expelRetired();
    const limit = this.options.heartbeatIntervalMs * this.options.heartbeatMisses;
    const now = Date.now();
    for (const conn of this.conns.values()) {
      if (conn.job && !conn.job.settled() && now - conn.lastSeen > limit) this.failJob(conn, NO_ANSWER.heartbeat(Math.round((now - conn.lastSeen) / 1000)));
    }
  }
}
