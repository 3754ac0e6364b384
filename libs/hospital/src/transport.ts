import { readFileSync } from 'node:fs';
import { NodeWebSocket } from 'engine.io-client';

/**
 * The websocket transport of socket.io-client with an all-zero frame mask.
 *
 * RFC 6455 has clients mask every frame so that script in a web browser cannot
 * forge bytes that a caching proxy might misread; a hospital is a Node process,
 * not a browser page. With a zero key, `ws` skips masking when sending (no copy
 * of the 30 MB update) and the coordinator's `ws` skips unmasking, so uploads
 * run as fast as downloads. The frames are still marked masked, as the RFC
 * requires of a client. `maskFrames: true` in the hospital config restores
 * random keys (for a proxy that inspects them).
 */
export class UnmaskedWebSocket extends NodeWebSocket {
  override createSocket(uri: string, protocols: string | string[] | undefined, opts: Record<string, unknown>): unknown {
    return super.createSocket(uri, protocols, { ...opts, generateMask: (mask: Uint8Array) => mask.fill(0) });
  }
}

/** socket.io-client options shared by the hospital and the transport benchmark. */
export function hospitalSocketOptions(maskFrames = false): Record<string, unknown> {
  return { transports: maskFrames ? ['websocket'] : [UnmaskedWebSocket], perMessageDeflate: false };
}

/** The TLS side of the connection: the CA trusted for the coordinator's certificate, and this hospital's client certificate (mutual TLS), read from their PEM files. */
export function tlsOptions(cfg: { ca?: string; cert?: string; key?: string }): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`Cannot read the ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  return {
    ca: cfg.ca ? read(cfg.ca, 'CA certificate (--ca)') : undefined,
    cert: cfg.cert ? read(cfg.cert, 'client certificate (--cert)') : undefined,
    key: cfg.key ? read(cfg.key, 'client key (--key)') : undefined,
  };
}
