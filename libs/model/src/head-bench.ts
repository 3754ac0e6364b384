import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from './backend';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { HeadTrainer, extractFeatures } from './features';
import { median } from './parallel/bench';
import { ModelSpecSchema, type Arch } from './spec';
import { applyTrainable } from './trainable';

/** Where the benchmark keeps the features between epochs (a hospital's feature cache, or memory). */
export interface BenchFeatureStore {
  get(image: number): Promise<Float32Array | null>;
  put(image: number, features: Float32Array): Promise<void>;
}

export interface HeadBenchOptions {
  arch: Arch;
  imageSize: number;
  batch: number;
  backend: BackendChoice;
  /** Images per epoch. @default 32 */
  images?: number;
  /** Epochs: the first computes the features, the others read them back. @default 4 */
  epochs?: number;
  microBatch?: number;
  store?: BenchFeatureStore;
  classes?: number;
  seed?: number;
}

export interface HeadBenchResult {
  backend: string;
  images: number;
  batch: number;
  featureLength: number;
  /** Images per second of the first epoch: backbone features computed (inference mode) and stored, head trained. */
  firstEpochImagesPerSecond: number;
  /** Median images per second of the later epochs: features read back, head trained. */
  cachedImagesPerSecond: number;
  epochSeconds: number[];
  store: 'custom' | 'memory';
  loadAverage: [number, number];
}

function memoryStore(): BenchFeatureStore {
  const m = new Map<number, Float32Array>();
  return {
    get: async (i) => m.get(i) ?? null,
    put: async (i, f) => void m.set(i, f),
  };
}

/**
 * Times head-only training of a DenseNet with a frozen backbone on random
 * images, as a hospital does it: the first epoch computes each image's
 * pooled backbone features once (and stores them), later epochs train the
 * head on the stored features. Image generation is outside the timings.
 */
export async function benchHeadTraining(o: HeadBenchOptions): Promise<HeadBenchResult> {
  const images = o.images ?? 32;
  const epochs = o.epochs ?? 4;
  if (!Number.isInteger(images) || images < 1) throw new ModelError(`Expected images ≥ 1, but got ${o.images}`);
  if (!Number.isInteger(epochs) || epochs < 2) throw new ModelError(`Expected epochs ≥ 2 (one computes the features, the others read them), but got ${o.epochs}`);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new ModelError(`Expected batch ≥ 1, but got ${o.batch}`);
  const load0 = loadavg()[0];
  const { backend } = await initBackend(o.backend);
  const classes = o.classes ?? 4;
  const spec = ModelSpecSchema.parse({ arch: o.arch, imageSize: o.imageSize, classes: Array.from({ length: classes }, (_, i) => `c${i}`) });
  const model = buildModel(spec, { seed: o.seed ?? 1 });
  applyTrainable(model, { kind: 'head' });
  const trainer = new HeadTrainer(model, spec);
  const store = o.store ?? memoryStore();
  const labels = Array.from({ length: images }, (_, i) => i % classes);
  const f = trainer.featureLength;
  const epochSeconds: number[] = [];
  try {
    for (let e = 0; e < epochs; e++) {
      let seconds = 0;
      for (let s = 0; s < images; s += o.batch) {
        const n = Math.min(o.batch, images - s);
        const x = e === 0 ? (tf.randomUniform([n, o.imageSize, o.imageSize, 3], 0, 1, 'float32', (o.seed ?? 1) * 7919 + s) as tf.Tensor4D) : null;
        const t0 = performance.now();
        const feats = new Float32Array(n * f);
        if (x) {
          feats.set(extractFeatures(model, x, o.microBatch));
          x.dispose();
          for (let i = 0; i < n; i++) await store.put(s + i, feats.slice(i * f, (i + 1) * f));
        } else {
          for (let i = 0; i < n; i++) {
            const got = await store.get(s + i);
            if (!got) throw new ModelError(`The feature store lost image ${s + i}`);
            feats.set(got, i * f);
          }
        }
        const ft = tf.tensor2d(feats, [n, f]);
        try {
          await trainer.trainBatch(ft, labels.slice(s, s + n));
        } finally {
          ft.dispose();
        }
        seconds += (performance.now() - t0) / 1000;
      }
      epochSeconds.push(seconds);
    }
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return {
    backend,
    images,
    batch: o.batch,
    featureLength: f,
    firstEpochImagesPerSecond: images / epochSeconds[0],
    cachedImagesPerSecond: images / median(epochSeconds.slice(1)),
    epochSeconds,
    store: o.store ? 'custom' : 'memory',
    loadAverage: [load0, loadavg()[0]],
  };
}
