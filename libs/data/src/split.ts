import { DataError } from './errors';
import { hashUniform } from './rng';
import type { DataItem, Dataset, SplitName } from './scan';

export interface SplitOptions {
  /** train : val : test, any positive scale (default 8:1:1, the study's). */
  ratios?: [number, number, number];
  /** Changes which files land where; the same seed always gives the same split (default 0). */
  seed?: number;
}

export interface Splits {
  train: DataItem[];
  val: DataItem[];
  test: DataItem[];
  /**
   * Pre-split folders only: val/test files whose bytes also appear in an earlier split, left out so
   * no image is both trained and evaluated on. Always empty for hash-assigned splits.
   */
  dropped: DataItem[];
}

export const DEFAULT_SPLIT_RATIOS: [number, number, number] = [0.8, 0.1, 0.1];

function checkRatios(r: [number, number, number]): [number, number, number] {
  if (r.length !== 3 || r.some((x) => !Number.isFinite(x) || x < 0) || r[0] + r[1] + r[2] <= 0) {
    throw new DataError(`Expected three non-negative split ratios train:val:test with a positive sum, but got ${JSON.stringify(r)}`);
  }
  const s = r[0] + r[1] + r[2];
  return [r[0] / s, r[1] / s, r[2] / s];
}

/** Where a file with this content hash goes, given normalised ratios and a seed. */
export function assignSplit(hash: string, ratios: [number, number, number], seed = 0): SplitName {
  const u = hashUniform(hash, seed);
  if (u < ratios[0]) return 'train';
  if (u < ratios[0] + ratios[1]) return 'val';
  return 'test';
}

/**
 * Splits a data set into train / val / test.
 *
 * Pre-split folders are kept as they are. Otherwise each file goes where its content hash points
 * (a seeded uniform draw from the hash, thresholded by the ratios), per class, so:
 * - the split is stratified in expectation (each class is cut by the same ratios);
 * - it is stable: adding or removing other files never moves a file;
 * - byte-identical files share a hash and so always share a split (no leakage).
 */
export function splitDataset(ds: Pick<Dataset, 'items' | 'presplit'>, options: SplitOptions = {}): Splits {
  const ratios = checkRatios(options.ratios ?? DEFAULT_SPLIT_RATIOS);
  const seed = options.seed ?? 0;
  const out: Splits = { train: [], val: [], test: [], dropped: [] };
  if (ds.presplit) {
    const seen: Record<SplitName, Set<string>> = { train: new Set(), val: new Set(), test: new Set() };
    for (const it of ds.items) if (it.split) seen[it.split].add(it.hash);
    for (const it of ds.items) {
      const s = it.split ?? assignSplit(it.hash, ratios, seed);
      const leaks = (s === 'val' && seen.train.has(it.hash)) || (s === 'test' && (seen.train.has(it.hash) || seen.val.has(it.hash)));
      if (leaks) out.dropped.push(it);
      else out[s].push(it);
    }
    return out;
  }
  for (const it of ds.items) {
    const s = assignSplit(it.hash, ratios, seed);
    out[s].push({ ...it, split: s });
  }
  return out;
}
