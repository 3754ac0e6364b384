// The dashboard's socket.io namespace: who may watch, how many at once, and
// the run's state pushed to them at most a few times a second.
import type { Namespace, Socket } from 'socket.io';
import { mayRead } from './access';
import { callerOf } from './caller';

export interface DashboardFeedOptions {
  dashboardToken?: string;
  trustProxy: readonly string[];
  /** Dashboard sockets open at once; more are refused. */
  maxConnections: number;
  /** Least time between two state broadcasts: changes in between are coalesced into the next. */
  intervalMs: number;
  /** A socket let in (the connection gate stops limiting it). */
  admitted: (socket: Socket) => void;
  /** A socket that gave a wrong dashboard token, by the caller's address (counted by the throttle). */
  wrongToken?: (address: string) => void;
}

function refusal(code: string, message: string): Error {
  return Object.assign(new Error(message), { data: { code, message } });
}

/** Serves `state()` on `dash`; call the returned function when the state changed, and `close` at the end. */
export function serveDashboard(dash: Namespace, state: () => unknown, o: DashboardFeedOptions): { changed(): void; close(): void } {
  dash.use((socket, next) => {
    const caller = callerOf(socket.handshake.address, socket.handshake.headers, o.trustProxy);
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (!mayRead(o.dashboardToken, caller, token)) {
      if (token) o.wrongToken?.(caller.address);
      return next(refusal('unauthorized', 'dashboard: open it from this machine (no proxy, no other site), or give the dashboard token'));
    }
    if (dash.sockets.size >= o.maxConnections) {
      return next(refusal('too_many_connections', `dashboard: ${o.maxConnections} dashboards are open already (maxDashboardConnections); close one and reload`));
    }
    next();
  });
  dash.on('connection', (socket) => {
    o.admitted(socket);
    socket.emit('state', state());
  });
  let timer: NodeJS.Timeout | null = null;
  let last = 0;
  let closed = false;
  const send = () => {
    timer = null;
    last = Date.now();
    if (dash.sockets.size > 0) dash.emit('state', state());
  };
  return {
    changed() {
      if (timer || closed) return;
      timer = setTimeout(send, Math.max(0, last + o.intervalMs - Date.now()));
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}
