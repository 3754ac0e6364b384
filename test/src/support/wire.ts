import { createServer, connect, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the coordinator that records every byte a client
 * sends, so a test can inspect exactly what left a hospital.
 */
export async function recordingProxy(target: URL): Promise<{ url: string; sent: () => Buffer; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface WsFrame {
  opcode: number;
  payload: Buffer;
  /** The frame's 4-byte masking key. */
  maskKey: Buffer;
}

/**
 * Splits a client's byte stream into its HTTP upgrade requests and its
 * WebSocket frames, unmasked (RFC 6455 §5.3: every client frame is XOR-masked,
 * so searching raw bytes would find nothing even if a file name were sent).
 */
export function parseClientStream(bytes: Buffer): { http: string[]; frames: WsFrame[]; framingBytes: number } {
  const http: string[] = [];
  const frames: WsFrame[] = [];
  let framingBytes = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes.subarray(i, i + 4).toString('latin1') === 'GET ') {
      const end = bytes.indexOf('\r\n\r\n', i);
      if (end < 0) throw new Error('truncated HTTP request');
      http.push(bytes.subarray(i, end + 4).toString('utf8'));
      framingBytes += end + 4 - i;
      i = end + 4;
      continue;
    }
    const b0 = bytes[i];
    const b1 = bytes[i + 1];
    let len = b1 & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(p));
      p += 8;
    }
    if (!(b1 & 0x80)) throw new Error('client frame without a mask');
    const mask = bytes.subarray(p, p + 4);
    p += 4;
    if (p + len > bytes.length) break; // connection cut mid-frame
    const payload = Buffer.allocUnsafe(len);
    for (let k = 0; k < len; k++) payload[k] = bytes[p + k] ^ mask[k & 3];
    frames.push({ opcode: b0 & 0x0f, payload, maskKey: Buffer.from(mask) });
    framingBytes += p - i;
    i = p + len;
  }
  return { http, frames, framingBytes };
}
