import { InlineTrainer, WorkerTrainer, type DataSource, type LocalTrainer } from '@fedxray/hospital';
import { computeMetrics } from '@fedxray/evaluation';
import type { NamedWeights } from '@fedxray/protocol';
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
}

/** Test-split accuracy and mean loss of one model. */
export interface TestScore {
  accuracy: number;
  loss: number;
}

/** The settings of the simulation an arm copies, for `epochs` epochs. */
export function armSettings(o: SimulationOptions, model: Record<string, unknown>, epochs: number, images: { train: number; test: number }, maxExamplesPerEpoch = o.maxExamplesPerEpoch): ArmSettings {
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
  };
}

/** A trainer on `source` with the simulation's data rules (augmentation, balancing, repeat bound, seed), set up for `model`. */
export async function openTrainer(o: SimulationOptions, source: DataSource, model: Record<string, unknown>, classes: string[]): Promise<LocalTrainer> {
  const opts = { data: source, backend: o.backend, augment: o.augment, balance: o.balance, maxRepeat: o.maxRepeat, seed: o.seed, threads: 0 };
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
    const r = await trainer.fit(weights, {
      localEpochs: 1,
      batchSize: s.batchSize,
      learningRate: s.learningRate ?? undefined,
      proximalMu: 0,
      keepLocal: [],
      weightsDtype: 'float32',
      maxExamplesPerEpoch: s.maxExamplesPerEpoch,
      seed: s.seed * 1000 + e + 1,
    });
    weights = r.weights;
    onEpoch?.(e + 1, r.metrics);
  }
  return weights;
}

/** Accuracy and loss of `weights` on the trainer's test split. */
export async function testScore(trainer: LocalTrainer, weights: NamedWeights | null): Promise<TestScore> {
  const m = computeMetrics(await trainer.evaluate(weights, 'test'));
  return { accuracy: m.accuracy, loss: m.loss };
}
