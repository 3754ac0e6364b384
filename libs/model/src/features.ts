import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';
import { defaultMicroBatch, microBatchRanges } from './parallel/accumulate';
import { HEAD_LAYERS } from './spec';
import type { ModelSpec } from './spec';
import { Trainer, type TrainerOptions } from './trainer';

const subModels = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

/**
 * The model from its input to the output of `layer`, sharing the model's
 * weights, built once per model and layer; `missing` is the error's text when
 * the model has no such layer.
 */
export function modelUpTo(model: tf.LayersModel, layer: string, missing: string): tf.LayersModel {
  let byLayer = subModels.get(model);
  if (!byLayer) subModels.set(model, (byLayer = new Map()));
  let m = byLayer.get(layer);
  if (!m) {
    let out: tf.SymbolicTensor;
    try {
      out = model.getLayer(layer).output as tf.SymbolicTensor;
    } catch {
      throw new ModelError(missing);
    }
    m = tf.model({ inputs: model.inputs, outputs: out });
    byLayer.set(layer, m);
  }
  return m;
}

/** The model from its input to the head's global average pooling (shares the model's weights). */
export function featureModel(model: tf.LayersModel): tf.LayersModel {
  return modelUpTo(model, HEAD_LAYERS.pool, `Expected a DenseNet with the study's head (layer ${HEAD_LAYERS.pool})`);
}

/** Length of one image's pooled feature vector (the backbone's last channel count: 1024 for DenseNet-121). */
export function featureLength(model: tf.LayersModel): number {
  return featureModel(model).outputs[0].shape[1] as number;
}

/**
 * The backbone's pooled features of a batch of images, in inference mode
 * (BatchNorm uses its moving statistics), `microBatch` images at a time:
 * n × featureLength values, row-major. Leaves no tensor behind.
 */
export function extractFeatures(model: tf.LayersModel, x: tf.Tensor4D, microBatch?: number): Float32Array {
  const fm = featureModel(model);
  const want = model.inputs[0].shape;
  if (x.rank !== 4 || x.shape.slice(1).some((d, i) => want[i + 1] !== null && d !== want[i + 1])) {
    throw new ModelError(`Expected images of shape [n, ${want.slice(1).join(', ')}], but got [${x.shape.join(', ')}]`);
  }
  const f = featureLength(model);
  const n = x.shape[0];
  const out = new Float32Array(n * f);
  for (const [s, e] of microBatchRanges(n, microBatch ?? defaultMicroBatch(x.shape[1]))) {
    const part = tf.tidy(() => fm.apply(tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]), { training: false }) as tf.Tensor);
    out.set(part.dataSync() as Float32Array, s * f);
    part.dispose();
  }
  return out;
}

/** The head's layers after the pooling, in order. */
function headAfterPool(model: tf.LayersModel): tf.layers.Layer[] {
  return [HEAD_LAYERS.hidden, HEAD_LAYERS.norm, HEAD_LAYERS.dropout, HEAD_LAYERS.out].map((n) => model.getLayer(n));
}

/**
 * Trains the head on pooled feature vectors instead of images: the same loss,
 * gradients, optimizer and FedProx term as `Trainer` on the full model with a
 * frozen backbone, at the cost of the head alone. The backbone must stay
 * frozen (every layer before the pooling that has weights): otherwise the
 * features would change as it trains, and a batch is refused. Batches are
 * `[n, featureLength]` tensors from `extractFeatures` (or a feature cache).
 */
export class HeadTrainer extends Trainer {
  private readonly layers: tf.layers.Layer[];
  readonly featureLength: number;

  constructor(model: tf.LayersModel, spec: ModelSpec, options: TrainerOptions = {}) {
    super(model, spec, options);
    this.layers = headAfterPool(model);
    this.featureLength = featureLength(model);
    this.checkFrozen();
  }

  private checkFrozen(): void {
    const pool = this.model.layers.findIndex((l) => l.name === HEAD_LAYERS.pool);
    const training = this.model.layers.filter((l, i) => i < pool && l.trainable && l.weights.length > 0);
    if (training.length > 0) {
      throw new ModelError(`HeadTrainer needs a frozen backbone, but ${training.length} layer(s) before the pooling train (first: ${training[0].name}); use applyTrainable(model, { kind: 'head' })`);
    }
  }

  protected override beforeOutput(features: tf.Tensor, training: boolean): tf.Tensor {
    let h = features;
    for (const layer of this.layers.slice(0, -1)) h = layer.apply(h, { training }) as tf.Tensor;
    return h;
  }

  /** Class probabilities from pooled features, n × C row-major. */
  override predict(features: tf.Tensor): Float32Array {
    this.checkBatch(features);
    const probs = tf.tidy(() => this.forward(features, false));
    const out = Float32Array.from(probs.dataSync() as Float32Array);
    probs.dispose();
    return out;
  }

  protected override checkBatch(x: tf.Tensor): void {
    if (x.rank !== 2 || x.shape[1] !== this.featureLength) {
      throw new ModelError(`Expected pooled features of shape [n, ${this.featureLength}], but got [${x.shape.join(', ')}]`);
    }
    this.checkFrozen();
  }
}
