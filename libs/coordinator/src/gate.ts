// Before a connection has proved who it is (a hospital's hello accepted, or a
// dashboard let in), it may send only a few bytes and stay only a short time.
import type { IncomingMessage } from 'node:http';
import type { Socket as NetSocket } from 'node:net';

/** What the gate needs of an engine.io connection (socket.io's `socket.conn`). */
export interface EngineConnection {
  request: IncomingMessage;
  close(): void;
  once(event: 'close', listener: () => void): unknown;
}

export interface GateOptions {
  /** Bytes a connection may send before it is trusted (frames and framing included). */
  maxBytes: number;
  /** Time a connection has to become trusted. */
  deadlineMs: number;
  /** Called when the gate closes a connection: why, and the peer's address. */
  onClose: (reason: 'too_large' | 'deadline', address: string | undefined) => void;
}

/** How long a closed connection has to answer the websocket close handshake before its TCP socket is destroyed. */
export const CLOSE_GRACE_MS = 500;

/**
 * Closes a connection: a polite websocket close, and the TCP socket destroyed
 * shortly after whether or not the peer answered (a stranger need not).
 */
export function shut(conn: EngineConnection): void {
  conn.close();
  const raw = conn.request.socket;
  if (!raw.destroyed) setTimeout(() => raw.destroy(), CLOSE_GRACE_MS).unref();
}

interface Watched {
  raw: NetSocket;
  count: (chunk: Buffer) => void;
  timer: NodeJS.Timeout;
}

export class ConnectionGate {
  private readonly watched = new Map<EngineConnection, Watched>();

  constructor(private readonly options: GateOptions) {}

  /** Starts counting a new connection's bytes and its time. */
  watch(conn: EngineConnection): void {
    const raw = conn.request.socket;
    const address = raw.remoteAddress;
    let bytes = 0;
    const end = (reason: 'too_large' | 'deadline') => {
      this.release(conn);
      this.options.onClose(reason, address);
      // A frame too large is cut at the socket: nothing more of it is read or buffered.
      if (reason === 'too_large') raw.destroy();
      else shut(conn);
    };
    const count = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > this.options.maxBytes) end('too_large');
    };
    raw.on('data', count);
    const timer = setTimeout(() => end('deadline'), this.options.deadlineMs);
    timer.unref();
    this.watched.set(conn, { raw, count, timer });
    conn.once('close', () => this.release(conn));
  }

  /** The connection proved who it is: no more limits. */
  trust(conn: EngineConnection): void {
    this.release(conn);
  }

  /** Connections not trusted yet. */
  get pending(): number {
    return this.watched.size;
  }

  close(): void {
    for (const conn of [...this.watched.keys()]) this.release(conn);
  }

  private release(conn: EngineConnection): void {
    const w = this.watched.get(conn);
    if (!w) return;
    this.watched.delete(conn);
    clearTimeout(w.timer);
    w.raw.off('data', w.count);
  }
}
