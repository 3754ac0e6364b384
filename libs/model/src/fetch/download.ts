import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import { proxyFor, type ProxyEnv } from './proxy';

/** A download that could not complete; `offline` when the server could not be reached at all. */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly offline = false,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

/** A file whose content is not the one expected (wrong hash). */
export class HashMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashMismatchError';
  }
}

export interface DownloadProgress {
  /** Bytes of the file on disk so far, resumed bytes included. */
  received: number;
  /** Size of the whole file, when the server said. */
  total: number | null;
  /** Bytes that were already on disk when this attempt started. */
  resumedFrom: number;
}

export interface DownloadOptions {
  url: string;
  /** Where the verified file ends up; the partial download is kept beside it as `<dest>.part`. */
  dest: string;
  /** Expected MD5 (hex) of the whole file, as Keras publishes it. */
  md5: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). @default process.env */
  env?: ProxyEnv;
  /** Give up when no byte arrives for this long. @default 60000 */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  md5: string;
  /** Bytes that came from an earlier, interrupted attempt. */
  resumedFrom: number;
  /** The proxy used, or null. */
  proxy: string | null;
}

/** Hex digest of a file. */
export async function fileDigest(path: string, algorithm: 'md5' | 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNRESET']);

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code ?? '';
}

/** `bytes 100-999/1000` → { start: 100, total: 1000 }. */
function contentRange(header: string | string[] | undefined): { start: number; total: number | null } | null {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(header ?? '').trim());
  return m ? { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) } : null;
}

/**
 * Downloads `url` to `dest` and checks its MD5. An interrupted download stays
 * on disk as `<dest>.part` and the next call resumes it with an HTTP Range
 * request (starting over if the server ignores Range). A file with the wrong
 * hash is deleted, partial file included, and nothing is left at `dest`.
 * Proxies come from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (Node's own fetch
 * ignores them).
 */
export async function downloadVerified(o: DownloadOptions): Promise<DownloadResult> {
  const url = new URL(o.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DownloadError(`Expected an http(s) URL, but got ${o.url}`);
  const part = `${o.dest}.part`;
  await mkdir(dirname(o.dest), { recursive: true });
  const proxy = proxyFor(url, o.env ?? (process.env as ProxyEnv));
  const idle = o.idleTimeoutMs ?? 60_000;
  const dispatcher: Dispatcher = proxy ? new ProxyAgent({ uri: proxy, headersTimeout: idle, bodyTimeout: idle }) : new Agent({ headersTimeout: idle, bodyTimeout: idle });
  try {
    let have = await sizeOf(part);
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, { dispatcher, maxRedirections: 5, headers: have > 0 ? { range: `bytes=${have}-` } : {} });
      } catch (err) {
        const code = errorCode(err);
        const why = code || (err as Error).message;
        throw new DownloadError(`Could not reach ${url.host}${proxy ? ` through the proxy ${proxy}` : ''} (${why})`, OFFLINE_CODES.has(code));
      }
      const range = contentRange(res.headers['content-range']);
      if (res.statusCode === 416 && attempt === 0) {
        // What is on disk is not a prefix the server can continue: start over.
        await res.body.dump();
        await rm(part, { force: true });
        have = 0;
        continue;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw new DownloadError(`${url.href} answered HTTP ${res.statusCode}`);
      }
      const resumed = res.statusCode === 206 && have > 0 && range?.start === have;
      if (res.statusCode === 206 && !resumed) {
        await res.body.dump();
        throw new DownloadError(`${url.href} answered a range (${String(res.headers['content-range'])}) other than the one asked for (bytes=${have}-)`);
      }
      const from = resumed ? have : 0; // 200: the server ignored Range, so the file starts over
      const length = Number(res.headers['content-length']);
      const total = range?.total ?? (Number.isFinite(length) && length >= 0 ? from + length : null);
      let received = from;
      const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
      o.onProgress?.({ received, total, resumedFrom: from });
      res.body.on('data', (chunk: Buffer) => {
        received += chunk.length;
        o.onProgress?.({ received, total, resumedFrom: from });
      });
      try {
        await pipeline(res.body, out);
      } catch (err) {
        throw new DownloadError(
          `Download of ${url.href} was interrupted after ${received} of ${total ?? '?'} bytes (${errorCode(err) || (err as Error).message}); run the same command again to resume`,
        );
      }
      if (total !== null && received !== total) {
        throw new DownloadError(`Download of ${url.href} ended after ${received} of ${total} bytes; run the same command again to resume`);
      }
      const md5 = await fileDigest(part, 'md5');
      if (md5 !== o.md5.toLowerCase()) {
        await rm(part, { force: true });
        throw new HashMismatchError(`${url.href} is not the expected file: expected md5 ${o.md5}, got ${md5} (${received} bytes); nothing was kept`);
      }
      await rename(part, o.dest);
      return { path: o.dest, bytes: received, md5, resumedFrom: from, proxy };
    }
  } finally {
    await dispatcher.close();
  }
}
