import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { type CalibrationTarget, type FitConfig, type NamedWeights } from '@fedxray/protocol';
import { addPredictions, createSummary, type EvaluationSummary } from '@fedxray/evaluation';
import {
  BatchNormStatsCollector,
  HeadStatsCollector,
  ModelSpecSchema,
  ParallelTrainer,
  assertBackendAlive,
  backendFailure,
  buildModel,
  defaultMicroBatch,
  evaluateBatch,
  getNamedWeights,
  headStatsToNamed,
  initBackend,
  applyTrainable,
  parseTrainable,
  setNamedWeights,
  updatedWeights,
  type ModelSpec,
  type TrainablePlan,
} from '@fedxray/model';
import { batches, classTargets, epochLength, scanDataset, splitDataset, type DataItem } from '@fedxray/data';
import { withSeededRandom } from '@fedxray/runtime';
import { TrainerOptionsSchema, type TrainerOptions, type TrainerOptionsInput } from './config';
import type { FeaturePreprocessing } from './feature-cache';
import { fitHead } from './head-fit';
import { localLogitTransform } from './local-loss';

export interface DatasetFacts {
  /** This hospital's label order (its folders', or the list it was given). */
  classes: string[];
  /** The classes this hospital has at least one image of, in `classes` order: what it tells the coordinator. */
  withImages: string[];
  examples: { train: number; val: number; test: number };
  skipped: number;
}

export interface FitProgress {
  epoch: number;
  epochs: number;
  done: number;
  total: number;
  loss?: number;
}

export interface FitOutcome {
  weights: NamedWeights;
  examples: number;
  metrics: { loss: number; accuracy: number };
}

/** What a hospital's trainer can do, in-thread or in a worker. */
export interface LocalTrainer {
  facts(): DatasetFacts;
  backend(): string;
  setup(spec: Record<string, unknown>, runClasses: string[]): Promise<void>;
  fit(weights: NamedWeights | null, config: FitConfig, onProgress?: (p: FitProgress) => void): Promise<FitOutcome>;
  evaluate(weights: NamedWeights | null, split: 'val' | 'test', onProgress?: (p: FitProgress) => void): Promise<EvaluationSummary>;
  /**
   * BatchNorm statistics of `weights` over up to `maxExamples` of this hospital's training images: each layer's exact mean and variance
   * (BatchNormStatsCollector; see CalibrateSchema). Under `trainable` (as in fit), frozen BatchNorm layers normalise with their own statistics.
   * With `target` 'head': instead, the class statistics of what the last layer reads (HeadStatsCollector).
   */
  calibrate(weights: NamedWeights, maxExamples: number, trainable?: string, target?: CalibrationTarget): Promise<{ stats: NamedWeights; examples: number }>;
  abort(): void;
  close(): Promise<void>;
}

/** Class folders that the classes a hospital was given (`--classes`) do not name. */
export class UnlistedClassesError extends Error {
  constructor(unlisted: string[], classes: string[], dir: string) {
    super(
      `${dir} has class folder${unlisted.length === 1 ? '' : 's'} ${unlisted.join(', ')}, which the classes given (${classes.join(', ')}) do not name; ` +
        'add them to --classes if the run classifies them, or move them out of the data folder',
    );
    this.name = 'UnlistedClassesError';
  }
}

class Aborted extends Error {
  constructor() {
    super('aborted by the coordinator');
  }
}

/**
 * Trains and evaluates on this hospital's own images. Images never leave it:
 * fit returns weights and aggregate metrics, evaluate a mergeable summary.
 */
export class InlineTrainer implements LocalTrainer {
  private model: tf.LayersModel | null = null;
  private spec: ModelSpec | null = null;
  /** local label → index in the run's class order */
  private labelMap: Int32Array = new Int32Array(0);
  private runClasses: string[] = [];
  /** Tensors kept local (FedBN): this hospital's own values. */
  private local = new Map<string, Float32Array>();
  private aborted = false;
  private backendName = 'unknown';

  private constructor(
    private readonly options: TrainerOptions,
    private readonly classes: string[],
    private readonly splits: { train: DataItem[]; val: DataItem[]; test: DataItem[] },
    private readonly skipped: number,
  ) {}

  static async create(input: TrainerOptionsInput): Promise<InlineTrainer> {
    const options = TrainerOptionsSchema.parse(input);
    const { backend } = await initBackend(options.backend);
    let trainer: InlineTrainer;
    if ('dir' in options.data) {
      const ds = await scanDataset(options.data.dir, { classes: options.data.classes });
      if (ds.unlisted.length > 0) throw new UnlistedClassesError(ds.unlisted, ds.classes, options.data.dir);
      const splits = splitDataset(ds, { ratios: options.data.ratios, seed: options.data.splitSeed });
      trainer = new InlineTrainer(options, ds.classes, splits, ds.skipped.length);
    } else {
      const d = options.data;
      trainer = new InlineTrainer(options, d.classes, { train: d.train, val: d.val, test: d.test }, 0);
    }
    trainer.backendName = backend;
    return trainer;
  }

  facts(): DatasetFacts {
    const seen = new Set<number>();
    for (const split of [this.splits.train, this.splits.val, this.splits.test]) for (const it of split) seen.add(it.label);
    return {
      classes: [...this.classes],
      withImages: this.classes.filter((_, i) => seen.has(i)),
      examples: { train: this.splits.train.length, val: this.splits.val.length, test: this.splits.test.length },
      skipped: this.skipped,
    };
  }

  backend(): string {
    return this.backendName;
  }

  async setup(specInput: Record<string, unknown>, runClasses: string[]): Promise<void> {
    const spec = ModelSpecSchema.parse(specInput) as ModelSpec;
    const missing = this.classes.filter((c) => !runClasses.includes(c));
    if (missing.length > 0) throw new Error(`This hospital has classes the run does not know: ${missing.join(', ')}`);
    this.labelMap = Int32Array.from(this.classes.map((c) => runClasses.indexOf(c)));
    this.runClasses = [...runClasses];
    if (this.model && JSON.stringify(this.spec) === JSON.stringify(spec)) return;
    this.model?.dispose();
    this.spec = spec;
    this.model = buildModel(spec, { seed: this.options.seed });
    this.local.clear();
  }

  abort(): void {
    this.aborted = true;
  }

  /** Loads global weights, keeping this hospital's own values of `keepLocal` tensors; null keeps the model as it is. */
  private load(weights: NamedWeights | null, keepLocal: readonly string[]): void {
    if (!weights) return;
    const keep = new Set(keepLocal);
    const merged = weights.map((w) => (keep.has(w.name) && this.local.has(w.name) ? { ...w, values: this.local.get(w.name)! } : w));
    setNamedWeights(this.model!, merged);
  }

  private mapLabels(labels: Int32Array): Int32Array {
    const out = new Int32Array(labels.length);
    for (let i = 0; i < labels.length; i++) out[i] = this.labelMap[labels[i]];
    return out;
  }

  /**
   * Runs one job on the backend. A wasm module that aborted (its heap ran
   * out) is dead: the job, and every later one, fails with one BackendError
   * saying so, instead of computing on whatever the abort left behind.
   */
  private async job<T>(run: () => Promise<T>): Promise<T> {
    assertBackendAlive();
    let result: T;
    try {
      result = await run();
    } catch (err) {
      throw backendFailure(err);
    }
    assertBackendAlive();
    return result;
  }

  fit(weights: NamedWeights | null, config: FitConfig, onProgress?: (p: FitProgress) => void): Promise<FitOutcome> {
    return this.job(() => withSeededRandom(config.seed * 31 + this.options.seed, () => this.fitSeeded(weights, config, onProgress)));
  }

  private async fitSeeded(weights: NamedWeights | null, config: FitConfig, onProgress?: (p: FitProgress) => void): Promise<FitOutcome> {
    if (!this.model || !this.spec) throw new Error('fit before setup: the coordinator must send the model first');
    if (this.splits.train.length === 0) throw new Error('This hospital has no training images');
    this.aborted = false;
    this.load(weights, config.keepLocal);
    const spec: ModelSpec = config.learningRate ? { ...this.spec, optimizer: { ...this.spec.optimizer, learningRate: config.learningRate } } : this.spec;
    // What trains this round: the layers' flags follow it; frozen tensors are not sent back.
    const plan = config.trainable ? applyTrainable(this.model, parseTrainable(config.trainable)) : null;
    const sums = { loss: 0, correct: 0, count: 0 };
    if (plan?.backboneFrozen && this.options.cacheDir) {
      await this.fitHeadOnly(spec, weights, config, sums, onProgress);
      return this.outcome(plan, config, sums);
    }
    // Gradient accumulation over micro-batches keeps any batch size within the
    // wasm heap; extra threads (if any) train micro-batches in parallel.
    const trainer = await ParallelTrainer.create(this.model, spec, {
      proximalMu: config.proximalMu,
      logitTransform: localLogitTransform(config.localLoss, this.epochCounts()),
      workers: this.options.threads === 'auto' ? (this.backendName === 'wasm' ? availableParallelism() : 0) : this.options.threads,
      microBatch: this.options.microBatch,
      backend: this.options.backend,
    });
    if (config.proximalMu > 0) trainer.setReference(weights ?? getNamedWeights(this.model));
    const perEpoch = this.epochSize(config);
    try {
      for (let epoch = 0; epoch < config.localEpochs; epoch++) {
        let done = 0;
        for await (const batch of batches(this.splits.train, {
          imageSize: spec.imageSize,
          channels: spec.channels as 1 | 3,
          resize: this.options.resize,
          normalize: this.normalize(),
          batchSize: config.batchSize,
          shuffle: true,
          seed: config.seed + this.options.seed,
          epoch,
          augment: this.augment(),
          balance: this.options.balance,
          maxRepeat: this.options.maxRepeat,
          maxExamples: config.maxExamplesPerEpoch || undefined,
        })) {
          if (this.aborted) throw new Aborted();
          const x = tf.tensor4d(batch.x, [batch.n, batch.imageSize, batch.imageSize, batch.channels]);
          const y = this.mapLabels(batch.labels);
          try {
            const r = await trainer.trainBatch(x, y);
            sums.loss += r.loss * r.count;
            sums.correct += r.correct;
            sums.count += r.count;
            done += r.count;
          } finally {
            x.dispose();
          }
          onProgress?.({ epoch: epoch + 1, epochs: config.localEpochs, done, total: perEpoch, loss: sums.loss / sums.count });
        }
      }
    } finally {
      await trainer.close();
    }
    return this.outcome(plan, config, sums);
  }

  /** The head alone on cached features of the frozen backbone (see head-fit.ts). */
  private async fitHeadOnly(spec: ModelSpec, weights: NamedWeights | null, config: FitConfig, sums: { loss: number; correct: number; count: number }, onProgress?: (p: FitProgress) => void): Promise<void> {
    const perEpoch = this.epochSize(config);
    let done = 0;
    let current = 0;
    await fitHead({
      model: this.model!,
      spec,
      config,
      reference: weights,
      items: this.splits.train,
      cacheDir: this.options.cacheDir!,
      preprocessing: { imageSize: spec.imageSize, channels: spec.channels as 1 | 3, normalize: this.normalize(), resize: this.options.resize, augment: this.augment() },
      balance: this.options.balance,
      logitTransform: localLogitTransform(config.localLoss, this.epochCounts()),
      numClasses: this.classes.length,
      seed: this.options.seed,
      mapLabels: (labels) => this.mapLabels(labels),
      aborted: () => this.aborted,
      onBatch: (epoch, r) => {
        if (epoch !== current) [current, done] = [epoch, 0];
        sums.loss += r.loss * r.count;
        sums.correct += r.correct;
        sums.count += r.count;
        done += r.count;
        onProgress?.({ epoch: epoch + 1, epochs: config.localEpochs, done, total: perEpoch, loss: sums.loss / sums.count });
      },
    });
  }

  /** What a fit sends back: the tensors that trained (all of them without a plan) less those kept local, the example count and the train metrics. */
  private outcome(plan: TrainablePlan | null, config: FitConfig, sums: { loss: number; correct: number; count: number }): FitOutcome {
    if (sums.count === 0) throw new Error('No training image could be read');
    const all = getNamedWeights(this.model!);
    const keep = new Set(config.keepLocal);
    for (const w of all) if (keep.has(w.name)) this.local.set(w.name, w.values.slice());
    const sent = plan ? updatedWeights(this.model!, plan, { statistics: true }) : all;
    return {
      weights: sent.filter((w) => !keep.has(w.name)),
      // The example count FedAvg weighs by: distinct training images, not augmented repeats.
      examples: Math.min(this.splits.train.length, config.maxExamplesPerEpoch || Infinity),
      metrics: { loss: sums.loss / sums.count, accuracy: sums.correct / sums.count },
    };
  }

  /** The run's normalisation (the model spec's) where it says, else this hospital's own setting. */
  private normalize(): 'rescale' | 'imagenet' {
    return this.spec?.normalize ?? this.options.normalize;
  }

  private augment(): FeaturePreprocessing['augment'] {
    return this.options.augment === false ? false : this.options.augment === true ? undefined : (this.options.augment as FeaturePreprocessing['augment']);
  }

  /** Training images of each of this hospital's classes, in its label order (0 for a class it lacks). */
  private trainCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const it of this.splits.train) counts[it.label]++;
    return counts;
  }

  /** Examples of each run class in one training epoch after balancing (before any per-epoch cap): the prior the local loss uses. */
  epochCounts(): number[] {
    const targets = classTargets(this.trainCounts(), this.options.balance, this.options.maxRepeat);
    const out = new Array<number>(this.runClasses.length).fill(0);
    targets.forEach((n, i) => (out[this.labelMap[i]] += n));
    return out;
  }

  private epochSize(config: FitConfig): number {
    let n = epochLength(this.trainCounts(), this.options.balance, this.options.maxRepeat);
    if (config.maxExamplesPerEpoch) n = Math.min(n, config.maxExamplesPerEpoch);
    return n;
  }

  evaluate(weights: NamedWeights | null, split: 'val' | 'test', onProgress?: (p: FitProgress) => void): Promise<EvaluationSummary> {
    return this.job(() => this.evaluateSplit(weights, split, onProgress));
  }

  /** Inference over a split in batches of 32 images, each run in passes that fit the backend's memory (evaluateBatch). */
  private async evaluateSplit(weights: NamedWeights | null, split: 'val' | 'test', onProgress?: (p: FitProgress) => void): Promise<EvaluationSummary> {
    if (!this.model || !this.spec) throw new Error('evaluate before setup: the coordinator must send the model first');
    const spec = this.spec;
    this.load(weights, [...this.local.keys()]);
    const summary = createSummary(this.runClasses);
    const items = this.splits[split];
    let done = 0;
    for await (const batch of batches(items, {
      imageSize: spec.imageSize,
      channels: spec.channels as 1 | 3,
      resize: this.options.resize,
      normalize: this.normalize(),
      batchSize: 32,
      shuffle: false,
      augment: false,
      balance: 'none',
    })) {
      const x = tf.tensor4d(batch.x, [batch.n, batch.imageSize, batch.imageSize, batch.channels]);
      const labels = this.mapLabels(batch.labels);
      try {
        const { probs, losses } = evaluateBatch(this.model, spec, x, labels);
        addPredictions(summary, probs, labels, losses);
      } finally {
        x.dispose();
      }
      done += batch.n;
      onProgress?.({ epoch: 1, epochs: 1, done, total: items.length });
    }
    return summary;
  }

  calibrate(weights: NamedWeights, maxExamples: number, trainable?: string, target: CalibrationTarget = 'batchnorm'): Promise<{ stats: NamedWeights; examples: number }> {
    return this.job(() => {
      if (target === 'head') return this.collectHeadStats(weights, maxExamples);
      if (trainable && this.model) applyTrainable(this.model, parseTrainable(trainable));
      return this.collectBatchNormStats(weights, maxExamples);
    });
  }

  /** Up to `maxExamples` of the training images, unaugmented, in the seeded order both calibrations read them. */
  private calibrationBatches(maxExamples: number) {
    const spec = this.spec!;
    return batches(this.splits.train, {
      imageSize: spec.imageSize,
      channels: spec.channels as 1 | 3,
      resize: this.options.resize,
      normalize: this.normalize(),
      batchSize: 32,
      shuffle: true,
      seed: this.options.seed + 7919,
      augment: false,
      balance: 'none',
      maxExamples,
    });
  }

  /**
   * Class statistics of what the last layer of `weights` reads (inference
   * mode, no augmentation) over up to `maxExamples` training images, drawn
   * as BatchNorm calibration draws them: count, Σf and Σ f fᵀ per class
   * (HeadStatsCollector), labels in the run's class order.
   */
  private async collectHeadStats(weights: NamedWeights, maxExamples: number): Promise<{ stats: NamedWeights; examples: number }> {
    if (!this.model || !this.spec) throw new Error('calibrate before setup: the coordinator must send the model first');
    const spec = this.spec;
    this.load(weights, []);
    const collector = new HeadStatsCollector(this.model, spec.classes.length, this.options.microBatch);
    for await (const batch of this.calibrationBatches(maxExamples)) {
      const x = tf.tensor4d(batch.x, [batch.n, batch.imageSize, batch.imageSize, batch.channels]);
      try {
        collector.add(x, this.mapLabels(batch.labels));
      } finally {
        x.dispose();
      }
    }
    if (collector.examples === 0) throw new Error('No training image could be read');
    return { stats: headStatsToNamed(collector.stats), examples: collector.examples };
  }

  /**
   * The BatchNorm statistics of `weights` over up to `maxExamples` training
   * images (no augmentation): each layer's exact mean and variance over every
   * image, normalising each forward pass by its own batch statistics as
   * training does with its micro-batches (BatchNormStatsCollector). The
   * model's own weights do not change.
   */
  private async collectBatchNormStats(weights: NamedWeights, maxExamples: number): Promise<{ stats: NamedWeights; examples: number }> {
    if (!this.model || !this.spec) throw new Error('calibrate before setup: the coordinator must send the model first');
    const spec = this.spec;
    this.load(weights, []);
    const collector = new BatchNormStatsCollector(this.model, { batchSize: this.options.microBatch ?? defaultMicroBatch(spec.imageSize) });
    for await (const batch of this.calibrationBatches(maxExamples)) {
      const x = tf.tensor4d(batch.x, [batch.n, batch.imageSize, batch.imageSize, batch.channels]);
      try {
        collector.add(x);
      } finally {
        x.dispose();
      }
    }
    if (collector.examples === 0) throw new Error('No training image could be read');
    return collector.report();
  }

  async close(): Promise<void> {
    this.model?.dispose();
    this.model = null;
  }
}
