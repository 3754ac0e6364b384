import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNative } from '../decode';
import { DataError } from '../errors';
import type { NativeImage } from '../formats/types';
import { PYTHON, REFERENCE_SCRIPT } from './corpus';
import type { Corpus, CorpusFile } from './corpus';

/** The largest difference allowed on the [0, 1] scale for a file to match its reference. */
export const TOLERANCE = 1e-6;

interface Reference {
  path: string;
  ok: boolean;
  error?: string;
  width?: number;
  height?: number;
  channels?: number;
  bits?: number;
  file?: string;
  note?: string;
}

/** One file's outcome: fedxray beside the reference decoder. */
export interface ConformanceRow {
  corpus: string;
  name: string;
  /**
   * `matched`/`differs`: both decoded (first frame); `refused`: fedxray refused an image the
   * reference may or may not read; `no image`: the reference finds no Pixel Data; `not refused`:
   * fedxray decoded what the reference could not (or a non-image), or threw something other than
   * a DataError.
   */
  status: 'matched' | 'differs' | 'refused' | 'no image' | 'not refused';
  maxDiff?: number;
  /** fedxray's reason when it refused. */
  reason?: string;
  /** How the reference was computed (window, min..max, Pillow mode), or why it failed. */
  note?: string;
}

/** Runs the reference script over every file, writing its manifest and pixels into `dir`. */
function references(files: CorpusFile[], dir: string): void {
  const r = spawnSync(PYTHON, [REFERENCE_SCRIPT, dir], { input: JSON.stringify(files.map((f) => ({ path: f.path, kind: f.kind }))), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`Expected ${REFERENCE_SCRIPT} to exit 0, but it exited ${r.status}: ${r.stderr.split('\n').slice(-5).join(' ')}`);
}

/**
 * The largest |difference| between fedxray's first frame and the reference's, after bringing
 * both to the same channels (gray repeated when the other side is RGB) and the same precision
 * (Pillow reads 16-bit colour as its 8 most significant bits).
 */
function maxDiff(mine: NativeImage, ref: Float32Array, r: Reference): number {
  if (mine.width !== r.width || mine.height !== r.height) return Infinity;
  const n = mine.width * mine.height;
  const eightBits = (r.bits ?? 32) === 8 && mine.bitDepth > 8;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      let a = mine.data[i * mine.channels + (mine.channels === 3 ? c : 0)];
      if (eightBits) a = Math.floor(Math.round(a * 65535) / 256) / 255;
      const b = ref[i * r.channels! + (r.channels === 3 ? c : 0)];
      worst = Math.max(worst, Math.abs(a - b));
    }
  }
  return worst;
}

async function compare(file: CorpusFile, r: Reference | undefined, dir: string): Promise<ConformanceRow> {
  const row = { corpus: file.corpus, name: file.name };
  let mine: NativeImage | null = null;
  let reason: string | undefined;
  try {
    mine = await decodeNative(file.path);
  } catch (err) {
    if (!(err instanceof DataError)) return { ...row, status: 'not refused', reason: `threw ${err instanceof Error ? err.name : typeof err} instead of a DataError: ${String(err)}` };
    reason = err.message;
  }
  if (!r?.ok) {
    const note = r?.error ?? 'no reference';
    if (/no Pixel Data/.test(note)) return mine ? { ...row, status: 'not refused', note } : { ...row, status: 'no image', reason, note };
    return mine ? { ...row, status: 'not refused', note: `the reference fails: ${note}` } : { ...row, status: 'refused', reason, note };
  }
  if (!mine) return { ...row, status: 'refused', reason, note: r.note };
  const bytes = await readFile(join(dir, r.file!));
  const ref = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)); // its own memory: never a pooled Buffer's .buffer
  const d = maxDiff(mine, ref, r);
  return { ...row, status: d <= TOLERANCE ? 'matched' : 'differs', maxDiff: d, note: r.note };
}

/** Decodes every file of the corpora with fedxray and with the reference; one row per file. */
export async function runConformance(corpora: Corpus[]): Promise<ConformanceRow[]> {
  const files = corpora.flatMap((c) => c.files);
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-conformance-'));
  try {
    references(files, dir);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Reference[];
    const byPath = new Map(manifest.map((m) => [m.path, m]));
    const rows: ConformanceRow[] = [];
    for (const f of files) rows.push(await compare(f, byPath.get(f.path), dir));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
