import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { AugmentConfigSchema, augmentImage } from './augment';
import type { AugmentConfig, AugmentInput, AugmentTrace } from './augment';
import { planEpoch } from './batches';
import { decodeResized, probeImage } from './decode';
import type { RawImage } from './decode';
import { DataError } from './errors';
import { mapPool } from './pool';
import { mixSeed, mulberry32, shuffleInPlace } from './rng';
import type { DataItem } from './scan';

/** Encodes a [0, 1] image as PNG (8-bit, gray or RGB). */
export async function encodePng(img: RawImage): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const u8 = new Uint8Array(img.data.length);
  for (let i = 0; i < u8.length; i++) u8[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255);
  const p = sharp(u8, { raw: { width: img.width, height: img.height, channels: img.channels } });
  return (img.channels === 1 ? p.toColourspace('b-w') : p).png().toBuffer();
}

export interface PreviewOptions {
  /** Source images shown (rows); each gets `perImage` augmented samples beside it. */
  images?: number;
  perImage?: number;
  imageSize?: number;
  seed?: number;
  augment?: AugmentInput | AugmentConfig;
}

/**
 * A PNG grid: each row starts with an original (decoded and resized) followed by augmented
 * samples of it, with a 2-pixel gap. Images are picked per class in turn, seeded.
 */
export async function previewGrid(items: DataItem[], options: PreviewOptions = {}): Promise<{ png: Buffer; rows: { path: string; ops: string[][] }[]; skipped: { path: string; reason: string }[] }> {
  if (items.length === 0) throw new DataError('Expected at least one image to preview, but the data set has none');
  const size = options.imageSize ?? 160;
  const rowsWanted = Math.min(options.images ?? 6, items.length);
  const per = options.perImage ?? 5;
  const seed = options.seed ?? 0;
  const cfg = AugmentConfigSchema.parse(options.augment ?? {});
  // Round-robin over classes so every class shows up.
  const byClass = new Map<number, DataItem[]>();
  for (const it of shuffleInPlace([...items], mulberry32(seed))) {
    if (!byClass.has(it.label)) byClass.set(it.label, []);
    byClass.get(it.label)!.push(it);
  }
  // Classes in turn; an unreadable file is passed over (and reported), the next one tried.
  const picked: DataItem[] = [];
  const decoded: RawImage[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const queues = [...byClass.keys()].sort((a, b) => a - b).map((k) => byClass.get(k)!);
  for (let k = 0; picked.length < rowsWanted && queues.some((q) => q.length > 0); k++) {
    const q = queues[k % queues.length];
    const it = q.shift();
    if (!it) continue;
    try {
      decoded.push(await decodeResized(it.path, size, { channels: 3 }));
      picked.push(it);
    } catch (err) {
      skipped.push({ path: it.path, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  if (picked.length === 0) throw new DataError(`Expected a readable image to preview, but all ${skipped.length} tried were unreadable`);
  const gap = 2;
  const cols = per + 1;
  const W = cols * size + (cols - 1) * gap;
  const H = picked.length * size + (picked.length - 1) * gap;
  const canvas = new Uint8Array(W * H * 3).fill(255);
  const rows: { path: string; ops: string[][] }[] = [];
  decoded.forEach((img, r) => {
    const ops: string[][] = [];
    for (let c = 0; c < cols; c++) {
      let tile = img;
      if (c > 0) {
        const trace: AugmentTrace[] = [];
        tile = augmentImage(img, cfg, mixSeed(seed, r, c), trace);
        ops.push(trace.map((t) => (t.detail ? `${t.op} ${t.detail}` : t.op)));
      }
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const o = ((r * (size + gap) + y) * W + c * (size + gap) + x) * 3;
          const s = (y * size + x) * tile.channels;
          for (let k = 0; k < 3; k++) canvas[o + k] = Math.round(Math.min(1, Math.max(0, tile.data[s + (tile.channels === 3 ? k : 0)])) * 255);
        }
      }
    }
    rows.push({ path: picked[r].path, ops });
  });
  const { default: sharp } = await import('sharp');
  const png = await sharp(canvas, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
  return { png, rows, skipped };
}

export interface WriteAugmentedOptions {
  /** Per-class target (default: the largest class), as `balance` in batches. */
  target?: 'max' | number;
  imageSize?: number;
  seed?: number;
  augment?: AugmentInput | AugmentConfig;
  numClasses?: number;
  classes?: string[];
  /** Files written at once (default 4). */
  concurrency?: number;
}

/**
 * Writes the balanced training set to disk, as the study did with Augmentor: for every class
 * below the target, augmented copies (PNG at `imageSize`) named `aug-<n>-<source>.png` in
 * `<out>/<class>/`, with no bound on repeats (the study's balancing). Originals are not copied. The plan is made from decodable files only: items
 * not verified by a scan (`item.info`) are decoded once first, and those that fail are reported
 * in `skipped` and never drawn. Returns how many copies each class received and how many
 * decodable sources it had.
 */
export async function writeAugmented(
  items: DataItem[],
  out: string,
  options: WriteAugmentedOptions = {},
): Promise<{ written: Record<string, number>; sources: Record<string, number>; skipped: { path: string; reason: string }[] }> {
  const size = options.imageSize ?? 224;
  const seed = options.seed ?? 0;
  const cfg = AugmentConfigSchema.parse(options.augment ?? {});
  const skipped = new Map<string, string>();
  const verified = await mapPool(items, options.concurrency ?? 4, async (it) => {
    if (it.info) return it;
    try {
      return { ...it, info: await probeImage(it.path) };
    } catch (err) {
      skipped.set(it.path, err instanceof Error ? err.message : String(err));
      return null;
    }
  });
  const decodable = verified.filter((it): it is DataItem => it !== null);
  const sources: Record<string, number> = {};
  for (const it of decodable) sources[it.className] = (sources[it.className] ?? 0) + 1;
  const plan = planEpoch(decodable, { balance: options.target ?? 'max', maxRepeat: 0, seed, shuffle: false, numClasses: options.numClasses }).filter((e) => e.augment);
  const written: Record<string, number> = {};
  await mapPool(plan, options.concurrency ?? 4, async (e, n) => {
    let img: RawImage;
    try {
      img = await decodeResized(e.item.path, size, { channels: 3 });
    } catch (err) {
      skipped.set(e.item.path, err instanceof Error ? err.message : String(err));
      return;
    }
    const aug = augmentImage(img, cfg, mixSeed(seed, n, 0xa06));
    const name = `aug-${String(n).padStart(5, '0')}-${basename(e.item.path, extname(e.item.path))}.png`;
    const path = join(out, e.item.className, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await encodePng(aug));
    written[e.item.className] = (written[e.item.className] ?? 0) + 1;
  });
  return { written, sources, skipped: [...skipped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, reason]) => ({ path, reason })) };
}
