import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { augmentImage, defaultAugmentConfig } from './augment';
import { batches } from './batches';
import { BatchWorkerPool } from './parallel';
import { decodeResized } from './decode';
import { mulberry32 } from './rng';
import type { DataItem } from './scan';

export interface DataBenchOptions {
  /** Source images generated (default 96). */
  images?: number;
  /** Side of the generated PNGs (default 1024). */
  sourceSize?: number;
  /** Format of the generated sources (default png; jpeg lets libjpeg shrink while decoding). */
  format?: 'png' | 'jpeg';
  /** Model input side (default 224). */
  imageSize?: number;
  batchSize?: number;
  /** Images decoded at once (default 2 × cores). */
  concurrency?: number;
  /** Passes over the images (default 2; the first also warms sharp up). */
  epochs?: number;
  /** Worker threads for decode + augmentation (default 1: `batches()` in this thread). */
  workers?: number;
  /** Augment every image (default true), as balancing copies are. */
  augment?: boolean;
  /** Called with progress lines (human output). */
  log?: (line: string) => void;
}

export interface DataBenchResult {
  imagesPerSecond: number;
  images: number;
  seconds: number;
  sourceSize: number;
  format: 'png' | 'jpeg';
  sourceKiB: number;
  imageSize: number;
  batchSize: number;
  concurrency: number;
  workers: number;
  cores: number;
  libuvThreadpool: number;
  sharpThreadsPerImage: number;
  decodeOnlyImagesPerSecond: number;
  /** Main-thread CPU for the study's augmentation at imageSize (mean over seeds). */
  augmentMsPerImage: number;
  /** All threads' CPU (sharp's pool and the main thread) per image through the whole pipeline. */
  cpuMsPerImage: number;
  /** CPU per image of decode + resize alone (mostly sharp's threads); the rest of cpuMsPerImage is main-thread work. */
  decodeCpuMsPerImage: number;
  /**
   * cores × 1000 / cpuMsPerImage: the rate this machine's cores allow at the measured CPU cost,
   * i.e. imagesPerSecond when nothing else runs. A ceiling computed from the measurement, not a
   * measurement itself; compare it with imagesPerSecond and loadAverage.
   */
  cpuBoundImagesPerSecond: number;
  /** Cores the pipeline would keep busy to feed `gpuImagesPerSecond` (cpuMsPerImage × rate). */
  coresFor800ImagesPerSecond: number;
  /** 1-minute load average at the end: above `cores`, other work shared the CPU and the wall figures are low. */
  loadAverage: number;
}

/** A chest-X-ray-like 8-bit gray picture (soft body and lung shapes, ribs, film grain), so PNG compresses realistically. */
export function syntheticXray(size: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(size * size);
  const cx = size / 2 + (rng() - 0.5) * size * 0.05;
  const ribs = 9 + Math.floor(rng() * 3);
  for (let y = 0; y < size; y++) {
    const v = y / size;
    for (let x = 0; x < size; x++) {
      const u = (x - cx) / size;
      const body = Math.max(0, 1 - (u * u) / 0.12 - ((v - 0.55) * (v - 0.55)) / 0.35);
      const lungL = Math.max(0, 1 - ((u + 0.17) * (u + 0.17)) / 0.012 - ((v - 0.5) * (v - 0.5)) / 0.08);
      const lungR = Math.max(0, 1 - ((u - 0.17) * (u - 0.17)) / 0.012 - ((v - 0.5) * (v - 0.5)) / 0.08);
      const rib = Math.max(0, Math.sin(v * ribs * Math.PI * 2 + Math.abs(u) * 9)) ** 8 * 0.25 * (lungL + lungR > 0 ? 1 : 0);
      const val = 30 + 170 * body - 120 * (lungL + lungR) + 60 * rib + (rng() - 0.5) * 12;
      out[y * size + x] = val < 0 ? 0 : val > 255 ? 255 : val;
    }
  }
  return out;
}

/**
 * Measures the training input pipeline: 1024×1024 PNG files → decode + resize (sharp, on its
 * thread pool, `concurrency` at once) → the study's augmentation at 224×224 → normalised
 * Float32 batches. Generates its own images in a temp folder and removes them after.
 */
export async function benchDataPipeline(options: DataBenchOptions = {}): Promise<DataBenchResult> {
  const n = options.images ?? 96;
  const sourceSize = options.sourceSize ?? 1024;
  const format = options.format ?? 'png';
  const imageSize = options.imageSize ?? 224;
  const batchSize = options.batchSize ?? 32;
  const cores = availableParallelism();
  const concurrency = options.concurrency ?? 2 * cores;
  const epochs = Math.max(1, options.epochs ?? 2);
  const workers = Math.max(1, options.workers ?? 1);
  const log = options.log ?? (() => undefined);
  const { default: sharp } = await import('sharp');
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-bench-data-'));
  try {
    log(`generating ${n} ${sourceSize}×${sourceSize} ${format.toUpperCase()}s in ${dir}`);
    const items: DataItem[] = [];
    const distinct = Math.min(n, 16);
    const pngs: Buffer[] = [];
    for (let i = 0; i < distinct; i++) {
      const img = sharp(syntheticXray(sourceSize, i + 1), { raw: { width: sourceSize, height: sourceSize, channels: 1 } }).toColourspace('b-w');
      pngs.push(await (format === 'jpeg' ? img.jpeg({ quality: 90 }) : img.png()).toBuffer());
    }
    for (let i = 0; i < n; i++) {
      const path = join(dir, `xray-${i}.${format === 'jpeg' ? 'jpg' : 'png'}`);
      await writeFile(path, pngs[i % distinct]);
      items.push({ path, label: i % 4, className: `c${i % 4}`, hash: String(i) });
    }
    const sourceKiB = Math.round(pngs.reduce((a, p) => a + p.length, 0) / pngs.length / 1024);
    log(`${format.toUpperCase()} size ≈ ${sourceKiB} KiB`);

    // Decode + resize only, same concurrency.
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          await decodeResized(items[i].path, imageSize, { channels: 3 });
        }
      }),
    );
    const decodeOnly = n / ((performance.now() - t0) / 1000);
    const dc = process.cpuUsage(c0);
    const decodeCpuMicros = dc.user + dc.system;
    log(`decode + resize only: ${decodeOnly.toFixed(1)} images/s`);

    // Augmentation alone on one decoded image (main thread).
    const img = await decodeResized(items[0].path, imageSize, { channels: 3 });
    const cfg = defaultAugmentConfig();
    for (let i = 0; i < 20; i++) augmentImage(img, cfg, 1000 + i); // warm the JIT
    const reps = 100;
    const c1 = process.cpuUsage();
    for (let i = 0; i < reps; i++) augmentImage(img, cfg, i);
    const cu = process.cpuUsage(c1);
    const augmentMs = (cu.user + cu.system) / 1000 / reps;
    log(`augmentation: ${augmentMs.toFixed(2)} ms CPU/image on the main thread`);

    // The whole pipeline.
    // Workers start once (about a second each) and serve every epoch, as in training.
    const pool = workers > 1 ? new BatchWorkerPool(workers) : null;
    let images = 0;
    let seconds = 0;
    let cpuMicros = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const t = performance.now();
      const c = process.cpuUsage();
      const o = { batchSize, imageSize, channels: 3 as const, augment: options.augment === false ? (false as const) : {}, seed: 1, epoch, concurrency, prefetch: 2 };
      const stream = pool ? pool.batches(items, o) : batches(items, o);
      let count = 0;
      for await (const b of stream) count += b.n;
      const s = (performance.now() - t) / 1000;
      const cpu = process.cpuUsage(c);
      log(`epoch ${epoch}: ${count} images in ${s.toFixed(2)} s = ${(count / s).toFixed(1)} images/s`);
      if (epoch > 0 || epochs === 1) {
        images += count;
        seconds += s;
        cpuMicros += cpu.user + cpu.system;
      }
    }
    await pool?.close();
    return {
      imagesPerSecond: Math.round((images / seconds) * 10) / 10,
      images,
      seconds: Math.round(seconds * 1000) / 1000,
      sourceSize,
      format,
      sourceKiB,
      imageSize,
      batchSize,
      concurrency,
      workers,
      cores,
      libuvThreadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
      sharpThreadsPerImage: sharp.concurrency(),
      decodeOnlyImagesPerSecond: Math.round(decodeOnly * 10) / 10,
      augmentMsPerImage: Math.round(augmentMs * 100) / 100,
      cpuMsPerImage: Math.round((cpuMicros / 1000 / images) * 100) / 100,
      decodeCpuMsPerImage: Math.round((decodeCpuMicros / 1000 / n) * 100) / 100,
      cpuBoundImagesPerSecond: Math.round(((cores * 1000 * images) / (cpuMicros / 1000)) * 10) / 10,
      coresFor800ImagesPerSecond: Math.round(((800 * cpuMicros) / 1e6 / images) * 10) / 10,
      loadAverage: Math.round(loadavg()[0] * 100) / 100,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
