import { InlineTrainer, WorkerTrainer, type DataSource, type LocalTrainer } from '@fedxray/hospital';
import { computeMetrics } from '@fedxray/evaluation';
import { overlayWeights, type NamedWeights } from '@fedxray/protocol';
import type { SimulationOptions } from './options';

/**
 * Every setting that shapes how a model is trained outside the federation
 * (centralized baseline, a hospital alone, a fine-tuning epoch). summary.json
 * records it beside the federation's, so both arms can be compared setting by setting.
 */
export interface ArmSettings {
  epochs: number;
  batchSize: number;
  learningRate: number | null;
  maxExamplesPerEpoch: number;
  augment: boolean;
  balance: SimulationOptions['balance'];
  maxRepeat: number;
  seed: number;
  model: Record<string, unknown>;
  trainImages: number;
  testImages: number;
  /** Where the arm starts: the federation's round-0 global model (`--weights`, `--trainable`, `--schedule`), or the trainer's seeded random weights. */
  start: 'federation' | 'random';
  /** What trains in each epoch, as the federation trained it in the same round (absent: everything). */
  trainable?: (string | null)[];
}

/**
 * Where an arm starts and what trains when, copied from the federation: its
 * round-0 global model (null: seeded random weights, as the federation's own
 * random start), and the setting of the round each epoch corresponds to.
 */
export interface ArmStart {
  weights: NamedWeights | null;
  /** The federation's trainable setting in round `round` (1-based; absent: everything). */
  trainableIn: (round: number) => string | undefined;
}

export const RANDOM_START: ArmStart = { weights: null, trainableIn: () => undefined };

/** Test-split accuracy and mean loss of one model. */
export interface TestScore {
  accuracy: number;
  loss: number;
}

/** The settings of the simulation an arm copies, for `epochs` epochs. */
export function armSettings(
  o: SimulationOptions,
  model: Record<string, unknown>,
  epochs: number,
  images: { train: number; test: number },
  maxExamplesPerEpoch = o.maxExamplesPerEpoch,
  start: ArmStart = RANDOM_START,
  roundOf: (epoch: number) => number = (e) => Math.floor(e / o.localEpochs) + 1,
): ArmSettings {
  const trainable = Array.from({ length: epochs }, (_, e) => start.trainableIn(roundOf(e)) ?? null);
  return {
    epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate ?? null,
    maxExamplesPerEpoch,
    augment: o.augment,
    balance: o.balance,
    maxRepeat: o.maxRepeat,
    seed: o.seed,
    model,
    trainImages: images.train,
    testImages: images.test,
    start: start.weights ? 'federation' : 'random',
    ...(trainable.some((t) => t !== null) ? { trainable } : {}),
  };
}

/** A trainer on `source` with the simulation's data rules (augmentation, balancing, repeat bound, seed), set up for `model`. */
export async function openTrainer(o: SimulationOptions, source: DataSource, model: Record<string, unknown>, classes: string[], cacheDir?: string): Promise<LocalTrainer> {
  const opts = { data: source, backend: o.backend, augment: o.augment, balance: o.balance, maxRepeat: o.maxRepeat, seed: o.seed, threads: 0, ...(cacheDir ? { cacheDir } : {}) };
  const trainer: LocalTrainer = o.workers ? await WorkerTrainer.create(opts) : await InlineTrainer.create(opts);
  try {
    await trainer.setup(model, classes);
  } catch (err) {
    await trainer.close();
    throw err;
  }
  return trainer;
}

/**
 * `epochs` epochs from `start` (null: the trainer's seeded initial weights),
 * one fit per epoch as the federation's rounds are (a fresh optimizer each
 * time), each epoch with its own sampling seed.
 */
export async function trainEpochs(
  trainer: LocalTrainer,
  start: NamedWeights | null,
  s: ArmSettings,
  onEpoch?: (epoch: number, metrics: { loss: number; accuracy: number }) => void,
): Promise<NamedWeights | null> {
  let weights = start;
  for (let e = 0; e < s.epochs; e++) {
    const trainable = s.trainable?.[e] ?? undefined;
    const r = await trainer.fit(weights, {
      localEpochs: 1,
      batchSize: s.batchSize,
      learningRate: s.learningRate ?? undefined,
      proximalMu: 0,
      keepLocal: [],
      weightsDtype: 'float32',
      maxExamplesPerEpoch: s.maxExamplesPerEpoch,
      seed: s.seed * 1000 + e + 1,
      // The comparison arms train as one site would, with plain cross-entropy.
      localLoss: { name: 'ce' },
      ...(trainable ? { trainable } : {}),
    });
    // With frozen layers the trainer returns only what trained: the rest stays as it was.
    weights = weights ? overlayWeights(weights, r.weights) : r.weights;
    onEpoch?.(e + 1, r.metrics);
  }
  return weights;
}

/** Accuracy and loss of `weights` on the trainer's test split. */
export async function testScore(trainer: LocalTrainer, weights: NamedWeights | null): Promise<TestScore> {
  const m = computeMetrics(await trainer.evaluate(weights, 'test'));
  return { accuracy: m.accuracy, loss: m.loss };
}
