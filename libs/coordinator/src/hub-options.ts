// What the hub is configured with: its options, the socket.io transport
// settings for weights traffic, and how often dashboards are told of changes.
import type { CertificateCheck } from './identity';
import type { JobFailure } from './record';

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

export interface HubOptions {
  runId: string;
  /** The run's classes and model, for hello and welcome. */
  classes: readonly string[];
  /** Classes a hospital must have images of to join (any subset of `classes` otherwise). @default 1 */
  minHospitalClasses?: number;
  model: Record<string, unknown>;
  host: string;
  port: number;
  /** PEM contents (already read), for HTTPS. */
  tls?: { cert: Buffer; key: Buffer };
  maxPayloadBytes: number;
  heartbeatIntervalMs: number;
  heartbeatMisses: number;
  dashboardToken?: string;
  /** Proxies whose X-Forwarded-For is believed. */
  trustProxy: readonly string[];
  /** Time to authenticate and say hello. */
  helloTimeoutMs: number;
  authFailureLimit: number;
  authBlockMs: number;
  maxDashboardConnections: number;
  /** Checks a client certificate's chain against the federation CA (mutual TLS; see pki.ts). */
  checkCertificate?: CertificateCheck;
}

/** Least time between two dashboard state broadcasts. */
export const DASHBOARD_INTERVAL_MS = 500;

/** How a failed job is written down (the store's job failure row, and the round engine's list). */
export type JobFailedHandler = (failure: JobFailure) => void;
