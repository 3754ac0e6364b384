// Training the head alone while the backbone is frozen: the backbone's pooled
// features of each image (and of K augmented variants) are computed once, kept
// in the hospital's feature cache, and the head trains on them.
import * as tf from '@tensorflow/tfjs';
import { HeadTrainer, backboneHash, featureLength, getNamedWeights, type LogitTransform, type ModelSpec } from '@fedxray/model';
import type { FitConfig, NamedWeights } from '@fedxray/protocol';
import type { DataItem } from '@fedxray/data';
import { FeatureCache, featureBatches, type FeaturePreprocessing } from './feature-cache';

export interface HeadFitOptions {
  model: tf.LayersModel;
  spec: ModelSpec;
  config: FitConfig;
  /** The global weights the round started from (FedProx's reference). */
  reference: NamedWeights | null;
  items: DataItem[];
  cacheDir: string;
  preprocessing: FeaturePreprocessing;
  balance: 'none' | 'max' | number;
  /** The local loss's logit transform (local-loss.ts); absent: plain cross-entropy. */
  logitTransform?: LogitTransform;
  numClasses: number;
  seed: number;
  mapLabels: (labels: Int32Array) => Int32Array;
  aborted: () => boolean;
  onBatch: (epoch: number, r: { loss: number; correct: number; count: number }) => void;
}

/** Trains the head of `model` (backbone frozen) for the round's epochs on cached features. */
export async function fitHead(o: HeadFitOptions): Promise<{ hits: number; misses: number }> {
  const cache = await FeatureCache.open({
    dir: o.cacheDir,
    backboneHash: backboneHash(getNamedWeights(o.model)),
    preprocessing: o.preprocessing,
    featureLength: featureLength(o.model),
  });
  const trainer = new HeadTrainer(o.model, o.spec, { proximalMu: o.config.proximalMu, logitTransform: o.logitTransform });
  try {
    if (o.config.proximalMu > 0) trainer.setReference(o.reference ?? getNamedWeights(o.model));
    for (let epoch = 0; epoch < o.config.localEpochs; epoch++) {
      for await (const b of featureBatches(cache, o.model, o.items, o.preprocessing, {
        batchSize: o.config.batchSize,
        epoch,
        seed: o.config.seed + o.seed,
        shuffle: true,
        balance: o.balance,
        maxExamples: o.config.maxExamplesPerEpoch || undefined,
        numClasses: o.numClasses,
      })) {
        if (o.aborted()) throw new Error('aborted by the coordinator');
        const x = tf.tensor2d(b.x, [b.n, trainer.featureLength]);
        try {
          o.onBatch(epoch, await trainer.trainBatch(x, o.mapLabels(b.labels)));
        } finally {
          x.dispose();
        }
      }
    }
  } finally {
    trainer.dispose();
  }
  return { hits: cache.hits, misses: cache.misses };
}
