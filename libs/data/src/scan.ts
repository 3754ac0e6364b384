import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DataError } from './errors';
import { mapPool } from './pool';
import { NOT_AN_IMAGE, sniffFormat } from './formats/registry';
import { SNIFF_BYTES } from './formats/types';
import type { ImageFormat } from './formats/types';

import type { ImageInfo } from './formats/types';

export type SplitName = 'train' | 'val' | 'test';

export interface DataItem {
  path: string;
  label: number;
  className: string;
  /** Content hash (sha256 of the file's bytes), hex. */
  hash: string;
  split?: SplitName;
  format?: ImageFormat;
  bytes?: number;
  info?: ImageInfo;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface DuplicateGroup {
  hash: string;
  paths: string[];
}

export interface Dataset {
  root: string;
  classes: string[];
  items: DataItem[];
  skipped: SkippedFile[];
  duplicates: DuplicateGroup[];
  /** True when the folder already had train/val/test folders; items then carry `split`. */
  presplit: boolean;
  /** Class folders found that `options.classes` does not list (their files are skipped), sorted. */
  unlisted: string[];
}

export interface ScanOptions {
  /** Fixes the class order (label i = classes[i]); folders not listed are reported as skipped. */
  classes?: string[];
  /**
   * Decode every image once (slower), so truncated or corrupt files are caught here rather than
   * during training, and sizes and bit depths are known (`item.info`).
   */
  verify?: boolean;
  /** Files read at once (default 16). */
  concurrency?: number;
}

const SPLIT_FOLDERS: Record<string, SplitName> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
  testing: 'test',
};

async function subdirs(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true });
  const dirs: string[] = [];
  const files: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) dirs.push(e.name);
    else files.push(e.name);
  }
  return { dirs: dirs.sort(), files: files.sort() };
}

async function walk(dir: string): Promise<string[]> {
  const { dirs, files } = await subdirs(dir);
  let out = files.map((f) => join(dir, f));
  for (const d of dirs) out = out.concat(await walk(join(dir, d)));
  return out;
}

interface Candidate {
  path: string;
  className: string;
  split?: SplitName;
}

/**
 * Scans a hospital's export: either one folder per class (`<dir>/<class>/…`), or
 * `<dir>/{train,val,test}/<class>/…` whose splits are then kept. Classes are the folder names
 * (sorted) unless `options.classes` fixes them. Every file is read once to hash it and recognise
 * its format by content; empty and non-image files are skipped with a reason.
 */
export async function scanDataset(dir: string, options: ScanOptions = {}): Promise<Dataset> {
  let top: { dirs: string[]; files: string[] };
  try {
    top = await subdirs(dir);
  } catch (err) {
    throw new DataError(`Expected a readable folder of class folders at ${dir}, but ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const skipped: { path: string; reason: string }[] = top.files.map((f) => ({
    path: join(dir, f),
    reason: 'not inside a class folder',
  }));
  const splitDirs = top.dirs.filter((d) => SPLIT_FOLDERS[d.toLowerCase()] !== undefined);
  const presplit = splitDirs.some((d) => SPLIT_FOLDERS[d.toLowerCase()] === 'train');
  if (presplit) {
    for (const d of top.dirs) if (!splitDirs.includes(d)) skipped.push({ path: join(dir, d), reason: 'a folder beside train/val/test that is not one of them' });
  }
  const candidates: Candidate[] = [];
  const folderClasses = new Set<string>();
  const addClassFolder = async (classDir: string, className: string, split?: SplitName) => {
    folderClasses.add(className);
    for (const p of await walk(classDir)) candidates.push({ path: p, className, split });
  };
  if (presplit) {
    for (const s of splitDirs) {
      const sdir = join(dir, s);
      const { dirs, files } = await subdirs(sdir);
      for (const f of files) skipped.push({ path: join(sdir, f), reason: 'not inside a class folder' });
      for (const c of dirs) await addClassFolder(join(sdir, c), c, SPLIT_FOLDERS[s.toLowerCase()]);
    }
  } else {
    for (const c of top.dirs) await addClassFolder(join(dir, c), c);
  }
  const classes = options.classes ? [...options.classes] : [...folderClasses].sort();
  if (new Set(classes).size !== classes.length) throw new DataError(`Expected distinct class names, but got ${classes.join(', ')}`);
  if (classes.length === 0) {
    throw new DataError(`Expected class folders (or train/val/test folders holding class folders) in ${dir}, but found none`);
  }
  const labelOf = new Map(classes.map((c, i) => [c, i]));
  const reportedFolders = new Set<string>();

  const verify = options.verify ? (await import('./decode')).probeImage : null;
  const results = await mapPool(candidates, options.concurrency ?? 16, async (c): Promise<DataItem | { path: string; reason: string }> => {
    const label = labelOf.get(c.className);
    if (label === undefined) return { path: c.path, reason: `class folder "${c.className}" is not among the classes ${classes.join(', ')}` };
    let buf: Buffer;
    try {
      const st = await stat(c.path);
      if (!st.isFile()) return { path: c.path, reason: 'not a regular file' };
      if (st.size === 0) return { path: c.path, reason: 'empty file (0 bytes)' };
      buf = await readFile(c.path);
    } catch (err) {
      return { path: c.path, reason: `unreadable (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
    }
    const format = sniffFormat(buf.subarray(0, SNIFF_BYTES));
    if (!format) return { path: c.path, reason: NOT_AN_IMAGE };
    const item: DataItem = {
      path: c.path,
      label,
      className: c.className,
      hash: createHash('sha256').update(buf).digest('hex'),
      format,
      bytes: buf.length,
    };
    if (c.split) item.split = c.split;
    if (verify) {
      try {
        item.info = await verify(buf);
      } catch (err) {
        return { path: c.path, reason: err instanceof Error ? err.message : String(err) };
      }
    }
    return item;
  });
  const items: DataItem[] = [];
  for (const r of results) {
    if ('hash' in r) items.push(r);
    else {
      // One line per foreign class folder, not one per file in it.
      const m = /^class folder "(.*)" is not among/.exec(r.reason);
      if (m) {
        const folder = r.path.slice(0, r.path.lastIndexOf(sep + m[1] + sep) + m[1].length + 1);
        if (reportedFolders.has(folder)) continue;
        reportedFolders.add(folder);
        skipped.push({ path: folder, reason: r.reason });
      } else skipped.push(r);
    }
  }
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const unlisted = [...folderClasses].filter((c) => !labelOf.has(c)).sort();
  return { root: dir, classes, items, skipped, duplicates: findDuplicates(items), presplit, unlisted };
}

/** Groups of items whose bytes are identical (same content hash), each with its paths. */
export function findDuplicates(items: readonly DataItem[]): DuplicateGroup[] {
  const byHash = new Map<string, string[]>();
  for (const it of items) {
    const g = byHash.get(it.hash);
    if (g) g.push(it.path);
    else byHash.set(it.hash, [it.path]);
  }
  return [...byHash.entries()]
    .filter(([, paths]) => paths.length > 1)
    .map(([hash, paths]) => ({ hash, paths }))
    .sort((a, b) => (a.paths[0] < b.paths[0] ? -1 : 1));
}

/** A path relative to the data set root, for reports. */
export function relativePath(ds: Pick<Dataset, 'root'>, path: string): string {
  return relative(ds.root, path) || path;
}
