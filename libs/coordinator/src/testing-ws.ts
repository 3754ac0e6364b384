// A bare websocket client over a TCP socket, for what socket.io-client never
// sends: frames far too large, junk before authentication, many handshakes
// on one connection, or nothing at all.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawWebSocket {
  /** The HTTP status of the upgrade (101 when accepted). */
  status: number;
  /** The upgrade response's status line and headers. */
  head: string;
  socket: Socket;
  /** Text frames received (socket.io packets such as `0{…}`, `44{…}`). */
  texts: string[];
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Sends one masked text frame. */
  sendText(text: string): void;
  /** Writes a binary frame's header that declares `length` payload bytes (mask key all zero), and nothing of the payload. */
  sendFrameHeader(length: number): void;
  /** Writes raw bytes; resolves once the kernel took them, or false if the connection is gone. */
  write(bytes: Buffer): Promise<boolean>;
}

function frame(opcode: number, payload: Buffer, mask: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i % 4];
  return Buffer.concat([head, mask, masked]);
}

/** Opens `/socket.io/?EIO=4&transport=websocket` on `url` by hand, with extra request headers. */
export function rawWebSocket(url: string, headers: Record<string, string> = {}): Promise<RawWebSocket> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  let closedFlag = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => (closedFlag = true));
  socket.on('error', () => {});
  const texts: string[] = [];
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let status = 0;
    let head = '';
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!status) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buf.subarray(0, end).toString('latin1');
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        resolve(ws);
      }
      // Server frames are unmasked; only short text frames are expected here.
      while (buf.length >= 2) {
        let len = buf[1] & 0x7f;
        let p = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          p = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          p = 10;
        }
        if (buf.length < p + len) return;
        if ((buf[0] & 0x0f) === 1) texts.push(buf.subarray(p, p + len).toString('utf8'));
        buf = buf.subarray(p + len);
      }
    };
    const ws: RawWebSocket = {
      get status() {
        return status;
      },
      get head() {
        return head;
      },
      socket,
      texts,
      closed,
      isClosed: () => closedFlag || socket.destroyed,
      sendText: (text) => void socket.write(frame(1, Buffer.from(text, 'utf8'), randomBytes(4))),
      sendFrameHeader: (length) => {
        const head = Buffer.alloc(14);
        head[0] = 0x82;
        head[1] = 0x80 | 127;
        head.writeBigUInt64BE(BigInt(length), 2);
        socket.write(head);
      },
      write: (bytes) =>
        new Promise<boolean>((done) => {
          if (socket.destroyed) return done(false);
          socket.write(bytes, (err) => done(!err));
        }),
    };
    socket.on('data', onData);
    socket.once('close', () => (status ? undefined : reject(new Error('closed before the upgrade was answered'))));
    socket.once('connect', () => {
      const lines = [
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1`,
        `Host: ${u.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}
