/**
 * Why a hospital could not reach its coordinator, in an operator's words: one
 * line naming the cause, one suggestion, and whether trying again can help.
 *
 * socket.io-client reports every transport failure as "websocket error"; the
 * cause is in the `ws` error underneath (a Node error code, a TLS code, or
 * "Unexpected server response: <status>"), and a refusal by the coordinator
 * itself carries `data.code` (see ERROR_CODES in @fedxray/protocol).
 */
import { connect as tlsConnect } from 'node:tls';

export type ConnectionFailureKind =
  /** nothing listens at host:port (yet) */
  | 'refused'
  /** no route, no answer in time, or the network dropped the attempt */
  | 'unreachable'
  /** the host name does not resolve */
  | 'dns'
  /** the connection was reset before an answer */
  | 'reset'
  /** https:// against plain HTTP, or http:// against TLS */
  | 'protocol-mismatch'
  /** the certificate is not signed by a CA this machine trusts (self-signed without --ca) */
  | 'tls-unknown-ca'
  /** the certificate names other hosts than the one in the URL */
  | 'tls-hostname'
  /** the certificate has expired or is not valid yet */
  | 'tls-expired'
  /** any other TLS failure */
  | 'tls'
  /** an HTTP server answered the websocket upgrade with an error status (404: not a coordinator, or a proxy that does not forward it) */
  | 'http-status'
  /** the URL has a path: socket.io took it for a namespace the coordinator does not have */
  | 'bad-path'
  /** the coordinator answered and refused this hospital (a code from the protocol) */
  | 'coordinator-refused'
  | 'unknown';

export interface ConnectionDiagnosis {
  kind: ConnectionFailureKind;
  /** One line: what went wrong, e.g. `TLS: unknown CA (self-signed certificate)`. */
  cause: string;
  /** What to do about it. */
  suggestion: string;
  /**
   * 'retry': may clear by itself (the coordinator is not up yet, a proxy's 502):
   * keep trying with backoff. 'bounded': retrying cannot fix a wrong URL or a
   * certificate, but is kept up a little (a proxy being reconfigured) before
   * giving up. 'fatal': the coordinator said no (bad token, other version).
   */
  retry: 'retry' | 'bounded' | 'fatal';
  /** Protocol error code when the coordinator refused, or the Node/TLS error code. */
  code?: string;
}

/** Coordinator refusals that no retry can change. */
const FATAL_CODES: ReadonlySet<string> = new Set(['unauthorized', 'revoked', 'rotated', 'bad_version', 'bad_message']);
const UNKNOWN_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);
const UNREACHABLE = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE', 'EAI_AGAIN']);

interface RawConnectError {
  message?: string;
  data?: { code?: string; message?: string };
  /** engine.io's TransportError: the ws ErrorEvent, whose `error` is the Node error. */
  description?: { message?: string; error?: { code?: string; message?: string } } | number;
}

/** The pieces of a socket.io-client `connect_error` that say what happened. */
function causeOf(err: RawConnectError): { code?: string; message: string } {
  const d = typeof err.description === 'object' ? err.description : undefined;
  return { code: d?.error?.code, message: d?.error?.message ?? d?.message ?? err.message ?? String(err) };
}

function where(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

/**
 * Names the cause of a failed connection attempt. `speaksTls` is the result
 * of a TLS probe of the same host and port (see probeTls), when the caller made
 * one: it tells "http:// against a TLS coordinator" from a plain reset.
 */
export function diagnoseConnectError(err: RawConnectError, coordinatorUrl: string, speaksTls?: boolean): ConnectionDiagnosis {
  const url = new URL(coordinatorUrl);
  const at = where(url);
  const https = url.protocol === 'https:';
  if (err.data?.code) {
    const code = err.data.code;
    const message = err.data.message ?? err.message ?? code;
    if (FATAL_CODES.has(code)) {
      const suggestion =
        code === 'unauthorized' || code === 'revoked'
          ? 'ask the coordinator’s operator for a new token (`fedxray coordinator add-hospital`) and give it with --token or FEDXRAY_TOKEN, or a certificate and key for --cert and --key'
          : code === 'rotated'
            ? 'the coordinator’s operator has issued this hospital a new token or certificate: use that one'
            : code === 'bad_version'
            ? 'install the same fedxray version as the coordinator (docs/INSTALL.md)'
            : 'check that this is a fedxray coordinator of the same version';
      return { kind: 'coordinator-refused', cause: `refused by the coordinator (${code}): ${message}`, suggestion, retry: 'fatal', code };
    }
    const suggestion =
      code === 'already_connected'
        ? 'another process is connected with this token (an old one still closing, or a second copy of this hospital): retrying'
        : 'retrying; the coordinator’s log says more';
    return { kind: 'coordinator-refused', cause: `refused by the coordinator (${code}): ${message}`, suggestion, retry: 'retry', code };
  }
  const { code, message } = causeOf(err);
  if (/Invalid namespace/i.test(message)) {
    return {
      kind: 'bad-path',
      cause: `the coordinator has nothing at the path ${url.pathname} (socket.io took it for a namespace)`,
      suggestion: `give the coordinator's URL without a path: ${url.protocol}//${url.host}`,
      retry: 'bounded',
    };
  }
  const status = /Unexpected server response: (\d{3})/.exec(message);
  if (status) {
    const n = Number(status[1]);
    if (n >= 500 || n === 429 || n === 408) {
      return {
        kind: 'http-status',
        cause: `HTTP ${n} from ${at}: ${n === 429 ? 'too many attempts' : 'a proxy in front of the coordinator cannot reach it'}`,
        suggestion: 'retrying; if it lasts, check that the coordinator runs and that the proxy forwards to it',
        retry: 'retry',
        code: String(n),
      };
    }
    const why =
      n === 404
        ? 'the server there is not a fedxray coordinator, or a proxy in front of it does not forward /socket.io/'
        : n === 401 || n === 403
          ? 'the coordinator or a proxy in front of it refused this hospital'
          : 'the server there did not accept a websocket';
    const suggestion =
      n === 404
        ? `check the URL's host and port; behind a proxy, forward /socket.io/ with websocket upgrades to the coordinator`
        : n === 401 || n === 403
          ? 'check the token (--token or FEDXRAY_TOKEN) and any proxy access rules'
          : 'check the URL, and that a proxy in front of the coordinator passes websocket upgrades';
    return { kind: 'http-status', cause: `HTTP ${n} from ${at}: ${why}`, suggestion, retry: 'bounded', code: String(n) };
  }
  if (code && UNKNOWN_CA.has(code)) {
    return {
      kind: 'tls-unknown-ca',
      cause: `TLS: unknown CA: the coordinator's certificate is ${code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'self-signed, and this machine does not trust it' : 'signed by a CA this machine does not trust'} (${message})`,
      suggestion: "get the coordinator's CA certificate (PEM) from its operator and pass it with --ca <file>",
      retry: 'bounded',
      code,
    };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      kind: 'tls-hostname',
      cause: `TLS: the coordinator's certificate does not name ${url.hostname} (${message})`,
      suggestion: 'use a host name the certificate names in --coordinator, or ask for a certificate that names this one',
      retry: 'bounded',
      code,
    };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return {
      kind: 'tls-expired',
      cause: `TLS: the coordinator's certificate ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'}`,
      suggestion: "check this machine's clock; if it is right, the coordinator needs a new certificate",
      retry: 'bounded',
      code,
    };
  }
  if (https && (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|unknown protocol/i.test(message))) {
    return {
      kind: 'protocol-mismatch',
      cause: `protocol mismatch: ${at} answered in plain HTTP, not TLS`,
      suggestion: `if the coordinator runs without TLS, use http://${url.host}; otherwise check the port`,
      retry: 'bounded',
      code,
    };
  }
  if (!https && (code === 'ECONNRESET' || /socket hang up/i.test(message)) && speaksTls) {
    return {
      kind: 'protocol-mismatch',
      cause: `protocol mismatch: ${at} speaks TLS, but the URL says http://`,
      suggestion: `use https://${url.host} (and --ca <file> if its certificate is self-signed)`,
      retry: 'bounded',
      code,
    };
  }
  if (code === 'ECONNREFUSED') {
    return {
      kind: 'refused',
      cause: `connection refused by ${at}: nothing listens there`,
      suggestion: 'retrying: the coordinator may not be up yet; if it is, check the host and port in --coordinator',
      retry: 'retry',
      code,
    };
  }
  if (code === 'ENOTFOUND') {
    return {
      kind: 'dns',
      cause: `host ${url.hostname} not found (DNS)`,
      suggestion: "check the coordinator's host name, and this machine's DNS settings",
      retry: 'bounded',
      code,
    };
  }
  if ((code && UNREACHABLE.has(code)) || /^timeout$/i.test(message)) {
    return {
      kind: 'unreachable',
      cause: `${at} is unreachable (${code ?? 'no answer in time'})`,
      suggestion: `retrying; check the address, and that firewalls let this machine reach port ${at.split(':').pop()}`,
      retry: 'retry',
      code,
    };
  }
  if (code === 'ECONNRESET' || /socket hang up/i.test(message)) {
    return {
      kind: 'reset',
      cause: `${at} closed the connection before answering`,
      suggestion: 'retrying; if it lasts, check that the port is the coordinator’s and whether a firewall or proxy cuts the connection',
      retry: 'retry',
      code,
    };
  }
  if (code && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('CERT_'))) {
    return { kind: 'tls', cause: `TLS: ${message}`, suggestion: "check the coordinator's certificate and --ca", retry: 'bounded', code };
  }
  return { kind: 'unknown', cause: message, suggestion: 'retrying', retry: 'retry', code };
}

/**
 * Whether host:port completes a TLS handshake (any certificate accepted: this
 * only asks which protocol the server speaks). Resolves false on any error or
 * after `timeoutMs`.
 */
export function probeTls(coordinatorUrl: string, timeoutMs = 3000): Promise<boolean> {
  const url = new URL(coordinatorUrl);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const isAddress = /^[\d.]+$/.test(host) || host.includes(':');
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port: Number(url.port || 80), rejectUnauthorized: false, servername: isAddress ? undefined : host });
    const done = (v: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}
