// The door every socket comes through: addresses that keep failing to
// authenticate are turned away at the websocket upgrade (HTTP 429), new
// connections are held to a small byte budget and a short deadline until they
// prove who they are, and refusals are logged once per address per interval.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as IoServer, Socket } from 'socket.io';
import { callerOf, type Caller } from './caller';
import { ConnectionGate, shut } from './gate';
import type { Logger } from './log';
import { RefusalLog } from './refusal-log';
import { AuthThrottle } from './throttle';

/** Bytes a connection may send before it is trusted: the handshake and a hello need a few hundred. */
export const UNAUTHENTICATED_MAX_BYTES = 64 * 1024;
/** The longest an address is refused after failing again and again. */
export const MAX_BLOCK_MS = 15 * 60_000;
/** Refusals of one address are summarised in one log line per this interval. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;

export interface DoorOptions {
  trustProxy: readonly string[];
  helloTimeoutMs: number;
  authFailureLimit: number;
  authBlockMs: number;
}

/** Refusal codes that count as a failed authentication (a wrong, malformed or revoked token). */
const FAILED_AUTH = new Set(['unauthorized', 'revoked', 'bad_message']);

export class Door {
  readonly gate: ConnectionGate;
  private readonly throttle: AuthThrottle;
  private readonly log: RefusalLog;

  constructor(
    private readonly options: DoorOptions,
    logger: Logger,
  ) {
    this.throttle = new AuthThrottle({ limit: options.authFailureLimit, blockMs: options.authBlockMs, maxBlockMs: MAX_BLOCK_MS, forgetMs: MAX_BLOCK_MS });
    this.log = new RefusalLog(logger, REFUSAL_LOG_INTERVAL_MS);
    this.gate = new ConnectionGate({
      maxBytes: UNAUTHENTICATED_MAX_BYTES,
      deadlineMs: options.helloTimeoutMs,
      onClose: (reason, address) =>
        this.log.refused(address ?? '?', reason === 'too_large' ? 'too_large' : 'hello_timeout', {
          message:
            reason === 'too_large'
              ? `sent more than ${UNAUTHENTICATED_MAX_BYTES} bytes before authenticating`
              : `did not authenticate and say hello within ${this.options.helloTimeoutMs} ms`,
        }),
    });
  }

  /** Puts the door in front of a socket.io server: the upgrade check, then the gate on every new connection. */
  install(io: IoServer): void {
    io.engine.use((req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => this.atUpgrade(req, res, next));
    io.engine.on('connection', (conn) => this.gate.watch(conn));
  }

  caller(req: Pick<IncomingMessage, 'headers'> & { socket: { remoteAddress?: string } }): Caller {
    return callerOf(req.socket.remoteAddress, req.headers, this.options.trustProxy);
  }

  /** Milliseconds an address must wait before it may try again (0: it may). */
  waitOf(address: string): number {
    return this.throttle.waitOf(address);
  }

  /**
   * A refused handshake: logged (summarised per address), counted against the
   * address if it was a failed authentication, and the connection closed once
   * the refusal has been sent (no second try on the same socket).
   */
  refused(socket: Socket, address: string, code: string, message: string): void {
    const wait = FAILED_AUTH.has(code) ? this.throttle.failed(address) : 0;
    this.log.refused(address, code, { message, ...(wait ? { refusedForSeconds: Math.ceil(wait / 1000) } : {}) });
    setImmediate(() => shut(socket.conn));
  }

  /**
   * A reader (HTTP API, /model/, dashboard socket) that gave a wrong dashboard
   * token: counted against its address like a hospital's wrong token, so that
   * the token cannot be guessed at speed either, and logged (summarised).
   */
  readerRefused(address: string): void {
    const wait = this.throttle.failed(address);
    this.log.refused(address, 'unauthorized', { message: 'wrong dashboard token', ...(wait ? { refusedForSeconds: Math.ceil(wait / 1000) } : {}) });
  }

  /** An address that authenticated: its failures are forgiven. */
  authenticated(address: string): void {
    this.throttle.succeeded(address);
  }

  /** A connection that proved who it is: no more byte budget or deadline. */
  trust(socket: Socket): void {
    this.gate.trust(socket.conn);
  }

  close(): void {
    this.gate.close();
    this.log.close();
  }

  private atUpgrade(req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void {
    const { address } = this.caller(req);
    const wait = this.throttle.waitOf(address);
    if (!wait) return next();
    const seconds = Math.ceil(wait / 1000);
    this.log.refused(address, 'throttled', { message: `too many failed authentications; refused for ${seconds} s` });
    const head = `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${seconds}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`;
    if (req.headers.upgrade) req.socket.end(head);
    else res.writeHead(429, { 'retry-after': String(seconds), connection: 'close' }).end();
  }
}
