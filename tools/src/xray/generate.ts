/**
 * Writes a folder-per-class demo data set of synthetic chest X-rays, atomically:
 * images go to a temporary sibling folder, a marker file is written last, and
 * one rename publishes the set. An interrupted run leaves no partial data set.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DEFAULT_PER_CLASS, XRAY_CLASSES, isXrayClass } from './classes';
import { DemoDataError } from './errors';
import { hashString } from './random';
import { MAX_SIZE, MIN_SIZE, renderXray } from './render';

/** Bumped whenever the rendered pixels change, so a cached set is regenerated. */
export const GENERATOR_VERSION = 3;
/** The marker file at the root of a finished data set. */
export const MARKER_FILE = '.fedxray-demo.json';
/** Folder name ensureDemoData uses under its cache directory. */
export const DEMO_FOLDER = 'xray-demo';

export interface DemoDataOptions {
  /** Folder to write (one sub-folder per class). */
  out: string;
  /** Images per class. @default the study's proportions at half scale: covid19 279, normal 765, pneumonia 629, tuberculosis 293 */
  perClass?: Record<string, number>;
  /** Image side in pixels. @default 128 */
  size?: number;
  /** @default 1 */
  seed?: number;
  /** @default 'png' */
  format?: 'png';
  /** Images encoded and written at once. @default 8 */
  concurrency?: number;
  /** Stops generation; nothing is published. */
  signal?: AbortSignal;
}

export interface DemoDataResult {
  out: string;
  classes: string[];
  counts: Record<string, number>;
  /** True when an existing set with the same options and generator version was reused. */
  reused: boolean;
}

interface Resolved {
  out: string;
  perClass: Record<string, number>;
  size: number;
  seed: number;
  format: 'png';
  concurrency: number;
}

interface Marker {
  generator: 'fedxray-xray-demo';
  version: number;
  options: { perClass: Record<string, number>; size: number; seed: number; format: 'png' };
}

function resolveOptions(options: DemoDataOptions): Resolved {
  if (typeof options.out !== 'string' || options.out === '') {
    throw new DemoDataError(`Expected out to be a folder path, but got ${JSON.stringify(options.out)}`);
  }
  const perClass = { ...(options.perClass ?? DEFAULT_PER_CLASS) };
  const names = Object.keys(perClass);
  if (names.length === 0) throw new DemoDataError(`Expected perClass to name at least one of ${XRAY_CLASSES.join(', ')}`);
  for (const name of names) {
    if (!isXrayClass(name)) throw new DemoDataError(`Expected class names among ${XRAY_CLASSES.join(', ')}, but got ${JSON.stringify(name)}`);
    const c = perClass[name];
    if (!Number.isInteger(c) || c < 0 || c > 1_000_000) {
      throw new DemoDataError(`Expected perClass.${name} to be an integer in [0, 1000000], but got ${c}`);
    }
  }
  const size = options.size ?? 128;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new DemoDataError(`Expected size to be an integer in [${MIN_SIZE}, ${MAX_SIZE}], but got ${size}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new DemoDataError(`Expected seed to be an integer, but got ${seed}`);
  const format = options.format ?? 'png';
  if (format !== 'png') throw new DemoDataError(`Expected format 'png', but got ${JSON.stringify(format)}`);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new DemoDataError(`Expected concurrency to be a positive integer, but got ${concurrency}`);
  }
  // Classes in canonical order, so the marker does not depend on key order.
  const ordered: Record<string, number> = {};
  for (const c of XRAY_CLASSES) if (c in perClass) ordered[c] = perClass[c];
  return { out: resolve(options.out), perClass: ordered, size, seed, format, concurrency };
}

function markerOf(r: Resolved): Marker {
  return { generator: 'fedxray-xray-demo', version: GENERATOR_VERSION, options: { perClass: r.perClass, size: r.size, seed: r.seed, format: r.format } };
}

async function readMarker(dir: string): Promise<Marker | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, MARKER_FILE), 'utf8')) as Marker;
    return m && m.generator === 'fedxray-xray-demo' ? m : undefined;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Seed of image `index` of `className` in a set generated with `seed`. */
export function imageSeed(seed: number, className: string, index: number): number {
  return hashString(`${seed}/${className}/${index}`);
}

/** File name of image `index` (0-based) of a class. */
export function imageName(className: string, index: number): string {
  return `${className}-${String(index + 1).padStart(4, '0')}.png`;
}

/** Removes temporary folders left by runs whose process is gone. */
async function sweepLeftovers(out: string): Promise<void> {
  const parent = dirname(out);
  const prefix = `.${basename(out)}.`;
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    if (!name.startsWith(prefix)) continue;
    const m = /\.(?:tmp|old)-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) await rm(join(parent, name), { recursive: true, force: true });
  }
}

/**
 * Generates the demo data set into `options.out`, replacing an earlier demo set
 * there. Refuses to replace a non-empty folder that is not a demo set.
 */
export async function generateDemoData(options: DemoDataOptions, onProgress?: (done: number, total: number) => void): Promise<DemoDataResult> {
  const r = resolveOptions(options);
  const { default: sharp } = await import('sharp');
  if (await exists(r.out)) {
    const entries = await readdir(r.out);
    if (entries.length > 0 && !(await readMarker(r.out))) {
      throw new DemoDataError(`Expected ${r.out} to be empty or an earlier demo data set (with ${MARKER_FILE}), but it holds other files; refusing to replace it`);
    }
  }
  await mkdir(dirname(r.out), { recursive: true });
  await sweepLeftovers(r.out);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(dirname(r.out), `.${basename(r.out)}.tmp-${tag}`);
  const classes = Object.keys(r.perClass);
  const jobs: Array<{ cls: string; index: number }> = [];
  for (const cls of classes) for (let i = 0; i < r.perClass[cls]; i++) jobs.push({ cls, index: i });
  const total = jobs.length;
  try {
    await mkdir(tmp);
    for (const cls of classes) await mkdir(join(tmp, cls));
    let next = 0;
    let done = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < jobs.length && !failed) {
        options.signal?.throwIfAborted();
        const { cls, index } = jobs[next++];
        const pixels = renderXray(cls, imageSeed(r.seed, cls, index), r.size);
        const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
          raw: { width: r.size, height: r.size, channels: 1 },
        })
          .toColourspace('b-w')
          .png({ compressionLevel: 6, adaptiveFiltering: false })
          .toBuffer();
        await writeFile(join(tmp, cls, imageName(cls, index)), png);
        done++;
        onProgress?.(done, total);
      }
    };
    // Every worker settles before anything is cleaned up, so no write lands in a folder being removed.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(r.concurrency, Math.max(1, total)) }, () =>
        worker().catch((e: unknown) => {
          failed = true;
          throw e;
        }),
      ),
    );
    const failure = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failure) throw failure.reason;
    options.signal?.throwIfAborted();
    await writeFile(join(tmp, MARKER_FILE), `${JSON.stringify(markerOf(r), null, 2)}\n`);
    // Publish: move any earlier set aside, move the new one in, drop the old one.
    let old: string | undefined;
    if (await exists(r.out)) {
      old = join(dirname(r.out), `.${basename(r.out)}.old-${tag}`);
      await rename(r.out, old);
    }
    await rename(tmp, r.out);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { out: r.out, classes, counts: { ...r.perClass }, reused: false };
}

/**
 * Returns the demo data set under `cacheDir` (in `cacheDir/xray-demo` unless
 * `options.out` says otherwise), generating it only when no set with the same
 * options and generator version is there yet.
 */
export async function ensureDemoData(
  cacheDir: string,
  options: Partial<DemoDataOptions> = {},
  onProgress?: (done: number, total: number) => void,
): Promise<DemoDataResult> {
  const full: DemoDataOptions = { ...options, out: options.out ?? join(cacheDir, DEMO_FOLDER) };
  const r = resolveOptions(full);
  const found = await readMarker(r.out);
  if (found && JSON.stringify(found) === JSON.stringify(markerOf(r))) {
    return { out: r.out, classes: Object.keys(r.perClass), counts: { ...r.perClass }, reused: true };
  }
  return generateDemoData(full, onProgress);
}
