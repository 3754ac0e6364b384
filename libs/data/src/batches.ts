import { cpus } from 'node:os';
import { AugmentConfigSchema, augmentImage } from './augment';
import type { AugmentConfig, AugmentInput } from './augment';
import { decodeResized, parseDecodeOptions, toModelInput } from './decode';
import type { DecodeOptions, RawImage } from './decode';
import { classTargets, type BalanceTarget } from './balance';
import { DataError } from './errors';
import { Semaphore } from './pool';
import { mixSeed, mulberry32, shuffleInPlace } from './rng';
import type { DataItem, SkippedFile } from './scan';

export interface Batch {
  /** n × H × W × C, normalised. */
  x: Float32Array;
  labels: Int32Array;
  n: number;
  imageSize: number;
  channels: number;
}

export interface BatchOptions extends DecodeOptions {
  batchSize: number;
  /** Reshuffle every epoch (by seed + epoch); default true. */
  shuffle?: boolean;
  seed?: number;
  epoch?: number;
  /**
   * Augment every example as it streams (on-the-fly augmentation). `false` (default) keeps the
   * originals as they are — the study's setting, where only balancing copies were augmented.
   */
  augment?: AugmentInput | AugmentConfig | false;
  /**
   * Bring every class to a target count with augmented copies: `'max'` (the largest class),
   * a number (the study used 1500), or `'none'` (default). Classes above the target keep all
   * their images. Copies use `augment`, or the study's defaults when `augment` is false.
   */
  balance?: BalanceTarget;
  /**
   * How often one image may appear in an epoch, original and copies together (default
   * `DEFAULT_MAX_REPEAT`); a class with n images gets at most n × maxRepeat examples. 0 = no
   * bound (the study's balancing, where a class of 3 images could be brought to 1500).
   */
  maxRepeat?: number;
  /** Batches decoded ahead of the consumer (default 2); memory stays (prefetch + 1) batches. */
  prefetch?: number;
  /** Images decoded at once (default 2 × cores); sharp runs each on its own thread. */
  concurrency?: number;
  /** Stop after this many examples (after balancing and shuffling). */
  maxExamples?: number;
  /** Number of classes, for balancing when some class has no items (default: max label + 1). */
  numClasses?: number;
  /** Replaces the file decoder (custom sources, tests); must return an imageSize² image in [0, 1]. */
  decode?: (item: DataItem, imageSize: number) => Promise<RawImage>;
}

/** One example to produce: which file, and whether (and with what seed) to augment it. */
export interface PlannedExample {
  item: DataItem;
  augment: boolean;
}

/** What a stream met on its way; read it after (or while) iterating. */
export interface BatchStats {
  examples: number;
  batches: number;
  /** Files that could not be decoded, once each, with the reason. */
  skipped: SkippedFile[];
  /** Examples lost to unreadable files (a file counts once per time it was planned). */
  skippedExamples: number;
}

export interface BatchStream extends AsyncIterable<Batch> {
  readonly stats: BatchStats;
  /** The examples this stream yields, in order (before any skipping). */
  readonly plan: readonly PlannedExample[];
}

/**
 * The epoch's example list: originals plus balancing copies (drawn round-robin from each
 * class in a seeded order, so no image repeats more than `maxRepeat` times), shuffled by
 * seed + epoch.
 */
export function planEpoch(items: readonly DataItem[], options: Pick<BatchOptions, 'balance' | 'maxRepeat' | 'shuffle' | 'seed' | 'epoch' | 'augment' | 'maxExamples' | 'numClasses'>): PlannedExample[] {
  const seed = options.seed ?? 0;
  const epoch = options.epoch ?? 0;
  const plan: PlannedExample[] = items.map((item) => ({ item, augment: options.augment !== undefined && options.augment !== false }));
  const balance = options.balance ?? 'none';
  if (balance !== 'none') {
    const k = Math.max(options.numClasses ?? 0, ...items.map((i) => i.label + 1));
    const byClass: DataItem[][] = Array.from({ length: k }, () => []);
    for (const it of items) byClass[it.label].push(it);
    const targets = classTargets(
      byClass.map((c) => c.length),
      balance,
      options.maxRepeat,
    );
    const rng = mulberry32(mixSeed(seed, epoch, 0xba1a));
    byClass.forEach((members, c) => {
      if (members.length === 0 || members.length >= targets[c]) return;
      const order = shuffleInPlace([...members], rng);
      for (let i = 0; i < targets[c] - members.length; i++) plan.push({ item: order[i % order.length], augment: true });
    });
  }
  if (options.shuffle !== false) shuffleInPlace(plan, mulberry32(mixSeed(seed, epoch)));
  return options.maxExamples !== undefined ? plan.slice(0, Math.max(0, options.maxExamples)) : plan;
}

/** The pieces of a stream: its plan, and a function that decodes batch b of it. */
export interface BatchMaker {
  plan: PlannedExample[];
  total: number;
  prefetch: number;
  stats: BatchStats;
  makeBatch(b: number): Promise<Batch>;
}

/** Validates options and prepares the epoch; `batches()` and the worker shards share it. */
export function createBatchMaker(items: DataItem[], options: BatchOptions): BatchMaker {
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new DataError(`Expected batchSize to be a positive integer, but got ${options.batchSize}`);
  const imageSize = options.imageSize;
  parseDecodeOptions(options);
  const channels = options.channels ?? 3;
  const normalize = options.normalize ?? 'rescale';
  const augmentCfg: AugmentConfig = AugmentConfigSchema.parse(options.augment || {});
  const prefetch = Math.max(0, options.prefetch ?? 2);
  const concurrency = Math.max(1, options.concurrency ?? 2 * Math.max(1, cpus().length));
  const seed = options.seed ?? 0;
  const epoch = options.epoch ?? 0;
  const plan = planEpoch(items, options);
  const stats: BatchStats = { examples: 0, batches: 0, skipped: [], skippedExamples: 0 };
  const skippedPaths = new Set<string>();
  const sem = new Semaphore(concurrency);
  const per = imageSize * imageSize * channels;

  const makeBatch = async (b: number): Promise<Batch> => {
    const start = b * options.batchSize;
    const slice = plan.slice(start, start + options.batchSize);
    const x = new Float32Array(slice.length * per);
    const labels = new Int32Array(slice.length);
    const ok = await Promise.all(
      slice.map((ex, i) =>
        sem.run(async () => {
          try {
            let img = options.decode ? await options.decode(ex.item, imageSize) : await decodeResized(ex.item.path, imageSize, { channels, resize: options.resize });
            if (ex.augment) img = augmentImage(img, augmentCfg, mixSeed(seed, epoch, start + i, 0xa0));
            toModelInput(img, channels, normalize, x, i * per);
            labels[i] = ex.item.label;
            return true;
          } catch (err) {
            if (!skippedPaths.has(ex.item.path)) {
              skippedPaths.add(ex.item.path);
              stats.skipped.push({ path: ex.item.path, reason: err instanceof Error ? err.message : String(err) });
            }
            stats.skippedExamples++;
            return false;
          }
        }),
      ),
    );
    const n = ok.filter(Boolean).length;
    if (n === slice.length) return { x, labels, n, imageSize, channels };
    // Compact: move the good examples to the front.
    const cx = new Float32Array(n * per);
    const cl = new Int32Array(n);
    let j = 0;
    for (let i = 0; i < slice.length; i++) {
      if (!ok[i]) continue;
      cx.set(x.subarray(i * per, (i + 1) * per), j * per);
      cl[j++] = labels[i];
    }
    return { x: cx, labels: cl, n, imageSize, channels };
  };

  return { plan, total: Math.ceil(plan.length / options.batchSize), prefetch, stats, makeBatch };
}

/**
 * Streams batches of decoded, augmented, normalised examples. Decoding runs ahead by `prefetch`
 * batches with `concurrency` images in flight, so memory is bounded by (prefetch + 1) batches
 * whatever the data set's size. Unreadable files are skipped and recorded in `stats`; a batch
 * may then hold fewer than `batchSize` examples. Every random choice is fixed by
 * (seed, epoch, position), so a stream is reproducible whatever the timing.
 */
export function batches(items: DataItem[], options: BatchOptions): BatchStream {
  const { plan, total, prefetch, stats, makeBatch } = createBatchMaker(items, options);
  return {
    stats,
    plan,
    async *[Symbol.asyncIterator]() {
      const pending = new Map<number, Promise<Batch>>();
      let launched = 0;
      const fill = (upTo: number) => {
        while (launched < total && launched <= upTo) {
          pending.set(launched, makeBatch(launched));
          launched++;
        }
      };
      for (let b = 0; b < total; b++) {
        fill(b + prefetch);
        const batch = await pending.get(b)!;
        pending.delete(b);
        if (batch.n === 0) continue;
        stats.examples += batch.n;
        stats.batches++;
        yield batch;
      }
    },
  };
}
