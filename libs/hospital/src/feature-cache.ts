import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { extractFeatures, featureLength } from '@fedxray/model';
import { AugmentConfigSchema, augmentImage, decodeResized, planEpoch, toModelInput } from '@fedxray/data';
import type { AugmentConfig, AugmentInput, DataItem, RawImage, SkippedFile } from '@fedxray/data';

/** Everything that changes an image's pixels before the backbone sees them. */
export interface FeaturePreprocessing {
  imageSize: number;
  channels: 1 | 3;
  normalize: 'rescale' | 'imagenet';
  resize: 'fill' | 'letterbox';
  /** Augmentation of the stored variants (as `batches()` takes it: a config, or undefined for the study's defaults). */
  augment?: AugmentInput | AugmentConfig | false;
}

export interface FeatureCacheOptions {
  /** The hospital's cache directory; features live in `<dir>/features/<key>/`. */
  dir: string;
  /** `backboneHash(getNamedWeights(model))` of the frozen backbone the features come from. */
  backboneHash: string;
  preprocessing: FeaturePreprocessing;
  /** Length of one feature vector (`featureLength(model)`). */
  featureLength: number;
  /** Augmented variants stored per image, cycled across epochs. @default 4 */
  variants?: number;
}

/** An image's feature variant: its original (`o`) or its k-th augmented draw (`a<k>`). */
export type FeatureVariant = 'o' | `a${number}`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Features on disk, keyed by all that they depend on: the namespace is the
 * SHA-256 of the backbone weights' hash and the preprocessing (size,
 * channels, normalisation, resize, augmentation); inside it, one file per
 * image content hash and variant. A changed backbone, preprocessing or image
 * is therefore a miss, never a stale hit.
 */
export class FeatureCache {
  hits = 0;
  misses = 0;
  readonly variants: number;

  private constructor(
    readonly root: string,
    readonly key: string,
    readonly featureLength: number,
    readonly augment: AugmentConfig,
    variants: number,
  ) {
    this.variants = variants;
  }

  static async open(o: FeatureCacheOptions): Promise<FeatureCache> {
    const variants = o.variants ?? 4;
    if (!Number.isInteger(variants) || variants < 1 || variants > 64) throw new Error(`Expected feature variants to be an integer in [1, 64], but got ${o.variants}`);
    if (!/^[0-9a-f]{64}$/.test(o.backboneHash)) throw new Error(`Expected a SHA-256 hex backbone hash, but got "${o.backboneHash}"`);
    const p = o.preprocessing;
    const augment = AugmentConfigSchema.parse(p.augment || {});
    const described = { backbone: o.backboneHash, imageSize: p.imageSize, channels: p.channels, normalize: p.normalize, resize: p.resize, augment, featureLength: o.featureLength };
    const key = sha256(JSON.stringify(described)).slice(0, 32);
    const root = join(o.dir, 'features');
    await mkdir(join(root, key), { recursive: true });
    await writeFile(join(root, key, 'key.json'), `${JSON.stringify(described, null, 2)}\n`);
    return new FeatureCache(root, key, o.featureLength, augment, variants);
  }

  private file(imageHash: string, variant: FeatureVariant): string {
    if (!/^[0-9a-f]{8,}$/i.test(imageHash)) throw new Error(`Expected an image content hash (hex), but got "${imageHash}"`);
    return join(this.root, this.key, imageHash.slice(0, 2), `${imageHash}.${variant}.f32`);
  }

  /** The stored features of an image variant, or null (a missing or damaged file is a miss). */
  async get(imageHash: string, variant: FeatureVariant): Promise<Float32Array | null> {
    const buf = await readFile(this.file(imageHash, variant)).catch(() => null);
    if (!buf || buf.byteLength !== this.featureLength * 4) {
      this.misses++;
      return null;
    }
    this.hits++;
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }

  /** Stores an image variant's features (written beside, then renamed: a reader never sees half a file). */
  async put(imageHash: string, variant: FeatureVariant, features: Float32Array): Promise<void> {
    if (features.length !== this.featureLength) throw new Error(`Expected ${this.featureLength} feature values, but got ${features.length}`);
    const path = this.file(imageHash, variant);
    await mkdir(join(path, '..'), { recursive: true });
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    await writeFile(tmp, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
    await rename(tmp, path);
  }

  /** Removes the features of every other backbone or preprocessing under the same directory. */
  async prune(): Promise<string[]> {
    const others = (await readdir(this.root)).filter((d) => d !== this.key);
    await Promise.all(others.map((d) => rm(join(this.root, d), { recursive: true, force: true })));
    return others;
  }

  /** Seed of an image's k-th augmented variant: fixed by its content, so the variant is the same in every run. */
  variantSeed(imageHash: string, k: number): number {
    return createHash('sha256').update(`${imageHash}:${k}`).digest().readUInt32LE(0);
  }
}

export interface FeatureBatchOptions {
  batchSize: number;
  epoch: number;
  seed?: number;
  shuffle?: boolean;
  /** As `batches()`: bring classes to a count with augmented copies. */
  balance?: 'none' | 'max' | number;
  /** As `batches()`: most times one image appears in an epoch (default DEFAULT_MAX_REPEAT; 0 = no bound). */
  maxRepeat?: number;
  maxExamples?: number;
  numClasses?: number;
  /** Images per backbone pass when features are computed. */
  microBatch?: number;
  /** Replaces the file decoder (tests, custom sources). */
  decode?: (item: DataItem, imageSize: number) => Promise<RawImage>;
}

/** A batch of pooled features: n × featureLength values and the items' (local) labels. */
export interface FeatureBatch {
  x: Float32Array;
  labels: Int32Array;
  n: number;
  /** Examples whose features came from the cache / were computed. */
  hits: number;
  misses: number;
}

/**
 * The epoch's batches as pooled features of the frozen backbone. The plan
 * (originals, balancing copies, shuffle) is `planEpoch`'s, as for images. An
 * augmented example uses the image's variant `(epoch + j) mod K`, j counting
 * its earlier augmented appearances in the epoch; so K stored draws per image
 * are cycled across epochs. Missing features are computed (decode, augment,
 * normalise, backbone in inference mode) and stored. Unreadable images are
 * left out and listed in `skipped`.
 */
export async function* featureBatches(
  cache: FeatureCache,
  model: tf.LayersModel,
  items: DataItem[],
  pre: FeaturePreprocessing,
  o: FeatureBatchOptions,
  skipped: SkippedFile[] = [],
): AsyncGenerator<FeatureBatch> {
  if (featureLength(model) !== cache.featureLength) throw new Error(`The cache holds ${cache.featureLength}-value features, but the model gives ${featureLength(model)}`);
  const augmenting = pre.augment !== undefined && pre.augment !== false;
  const plan = planEpoch(items, { balance: o.balance, maxRepeat: o.maxRepeat, shuffle: o.shuffle, seed: o.seed, epoch: o.epoch, augment: augmenting ? pre.augment : undefined, maxExamples: o.maxExamples, numClasses: o.numClasses });
  const seen = new Map<string, number>();
  const variants = plan.map((ex): FeatureVariant => {
    if (!ex.augment) return 'o';
    const j = seen.get(ex.item.hash) ?? 0;
    seen.set(ex.item.hash, j + 1);
    return `a${(o.epoch + j) % cache.variants}`;
  });
  const f = cache.featureLength;
  const per = pre.imageSize * pre.imageSize * pre.channels;
  for (let s = 0; s < plan.length; s += o.batchSize) {
    const slice = plan.slice(s, s + o.batchSize);
    const feats: (Float32Array | null)[] = await Promise.all(slice.map((ex, i) => cache.get(ex.item.hash, variants[s + i])));
    const missing = slice.map((_, i) => i).filter((i) => !feats[i]);
    const pixels = new Float32Array(missing.length * per);
    const ok = await Promise.all(
      missing.map(async (i, m) => {
        const ex = slice[i];
        try {
          let img = o.decode ? await o.decode(ex.item, pre.imageSize) : await decodeResized(ex.item.path, pre.imageSize, { channels: pre.channels, resize: pre.resize });
          const v = variants[s + i];
          if (v !== 'o') img = augmentImage(img, cache.augment, cache.variantSeed(ex.item.hash, Number(v.slice(1))));
          toModelInput(img, pre.channels, pre.normalize, pixels, m * per);
          return true;
        } catch (err) {
          if (!skipped.some((k) => k.path === ex.item.path)) skipped.push({ path: ex.item.path, reason: err instanceof Error ? err.message : String(err) });
          return false;
        }
      }),
    );
    if (missing.length > 0) {
      const x = tf.tensor4d(pixels, [missing.length, pre.imageSize, pre.imageSize, pre.channels]);
      let computed: Float32Array;
      try {
        computed = extractFeatures(model, x, o.microBatch);
      } finally {
        x.dispose();
      }
      await Promise.all(
        missing.map(async (i, m) => {
          if (!ok[m]) return;
          feats[i] = computed.slice(m * f, (m + 1) * f);
          await cache.put(slice[i].item.hash, variants[s + i], feats[i]);
        }),
      );
    }
    const kept = slice.map((_, i) => i).filter((i) => feats[i]);
    if (kept.length === 0) continue;
    const x = new Float32Array(kept.length * f);
    const labels = new Int32Array(kept.length);
    kept.forEach((i, k) => {
      x.set(feats[i]!, k * f);
      labels[k] = slice[i].item.label;
    });
    const misses = missing.filter((_, m) => ok[m]).length;
    yield { x, labels, n: kept.length, hits: kept.length - misses, misses };
  }
}
