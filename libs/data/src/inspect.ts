import { DataError } from './errors';
import { relativePath, scanDataset } from './scan';
import type { Dataset, ScanOptions } from './scan';
import { splitDataset } from './split';
import type { SplitOptions } from './split';

export interface Stats {
  min: number;
  max: number;
  mean: number;
}

export interface InspectReport {
  root: string;
  layout: 'class-folders' | 'train-val-test-folders';
  classes: string[];
  images: number;
  bytes: number;
  perClass: Record<string, number>;
  /** Split counts per class: the folders' when pre-split, else the hash-stable split the loaders use. */
  perSplit: Record<'train' | 'val' | 'test', Record<string, number>>;
  /** Pre-split only: val/test files that duplicate an earlier split's file and are left out. */
  leakingDuplicates: string[];
  formats: Record<string, number>;
  bitDepth: Record<string, number>;
  channels: Record<string, number>;
  width: Stats | null;
  height: Stats | null;
  /** The most common sizes, "WxH" → count (at most 10). */
  commonSizes: Record<string, number>;
  skipped: { count: number; files: { path: string; reason: string }[] };
  duplicates: { groups: number; extraCopies: number; crossClass: number; list: { paths: string[]; classes: string[] }[] };
}

function stats(xs: number[]): Stats | null {
  if (xs.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const x of xs) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  return { min, max, mean: Math.round((sum / xs.length) * 10) / 10 };
}

function count<T>(xs: T[], key: (x: T) => string | number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = key(x);
    if (k === undefined) continue;
    out[String(k)] = (out[String(k)] ?? 0) + 1;
  }
  return out;
}

/**
 * Scans and fully decodes a data set folder and summarises it: classes, counts per class and
 * split, what was skipped and why, duplicates, formats, sizes and bit depths. Paths in the
 * report are relative to the folder.
 */
export async function inspectDataset(dir: string, options: ScanOptions & SplitOptions = {}): Promise<{ report: InspectReport; dataset: Dataset }> {
  const ds = await scanDataset(dir, { verify: true, ...options });
  const split = splitDataset(ds, options);
  const perSplit = {
    train: Object.fromEntries(ds.classes.map((c) => [c, 0])),
    val: Object.fromEntries(ds.classes.map((c) => [c, 0])),
    test: Object.fromEntries(ds.classes.map((c) => [c, 0])),
  };
  for (const s of ['train', 'val', 'test'] as const) for (const it of split[s]) perSplit[s][it.className]++;
  const classOf = new Map(ds.items.map((i) => [i.path, i.className]));
  const infos = ds.items.map((i) => i.info).filter((i) => i !== undefined);
  const sizes = count(infos, (i) => `${i.width}x${i.height}`);
  const commonSizes = Object.fromEntries(
    Object.entries(sizes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10),
  );
  const dupList = ds.duplicates.map((d) => ({ paths: d.paths.map((p) => relativePath(ds, p)), classes: [...new Set(d.paths.map((p) => classOf.get(p) ?? '?'))] }));
  const report: InspectReport = {
    root: ds.root,
    layout: ds.presplit ? 'train-val-test-folders' : 'class-folders',
    classes: ds.classes,
    images: ds.items.length,
    bytes: ds.items.reduce((a, i) => a + (i.bytes ?? 0), 0),
    perClass: Object.fromEntries(ds.classes.map((c) => [c, ds.items.filter((i) => i.className === c).length])),
    perSplit,
    leakingDuplicates: split.dropped.map((i) => relativePath(ds, i.path)),
    formats: count(ds.items, (i) => i.format),
    bitDepth: count(infos, (i) => i.bitDepth),
    channels: count(infos, (i) => i.channels),
    width: stats(infos.map((i) => i.width)),
    height: stats(infos.map((i) => i.height)),
    commonSizes,
    skipped: { count: ds.skipped.length, files: ds.skipped.map((s) => ({ path: relativePath(ds, s.path), reason: s.reason })) },
    duplicates: {
      groups: ds.duplicates.length,
      extraCopies: ds.duplicates.reduce((a, d) => a + d.paths.length - 1, 0),
      crossClass: dupList.filter((d) => d.classes.length > 1).length,
      list: dupList,
    },
  };
  if (report.images === 0) throw new DataError(`Expected images in ${dir}, but every file was skipped (${ds.skipped.length} skipped)`);
  return { report, dataset: ds };
}
