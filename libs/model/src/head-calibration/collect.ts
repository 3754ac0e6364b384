// A hospital's side of head calibration: the features the last layer reads,
// in inference mode, added per class into HeadStats.
import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';
import { modelUpTo } from '../features';
import { defaultMicroBatch, microBatchRanges } from '../parallel/accumulate';
import { HEAD_LAYERS } from '../spec';
import { addFeatures, emptyHeadStats, type HeadStats } from './stats';

/** The model from its input to what its last layer reads (the head's BatchNorm output; dropout is off at inference). */
function lastLayerInput(model: tf.LayersModel): tf.LayersModel {
  return modelUpTo(model, HEAD_LAYERS.norm, `Expected a DenseNet with the study's head (layer ${HEAD_LAYERS.norm})`);
}

/** Collects class-conditional statistics of the last layer's input over batches of images. */
export class HeadStatsCollector {
  readonly stats: HeadStats;
  private readonly net: tf.LayersModel;

  constructor(
    model: tf.LayersModel,
    classes: number,
    private readonly microBatch?: number,
  ) {
    this.net = lastLayerInput(model);
    this.stats = emptyHeadStats(classes, this.net.outputs[0].shape[1] as number);
  }

  get examples(): number {
    return this.stats.counts.reduce((a, b) => a + b, 0);
  }

  /** Adds a batch of images with their labels (indices in the run's class order). */
  add(x: tf.Tensor4D, labels: ArrayLike<number>): void {
    if (labels.length !== x.shape[0]) throw new ModelError(`Expected ${x.shape[0]} labels for ${x.shape[0]} images, got ${labels.length}`);
    for (const [s, e] of microBatchRanges(x.shape[0], this.microBatch ?? defaultMicroBatch(x.shape[1]))) {
      const f = tf.tidy(() => this.net.apply(tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]), { training: false }) as tf.Tensor);
      try {
        addFeatures(this.stats, f.dataSync() as Float32Array, Array.prototype.slice.call(labels, s, e) as number[]);
      } finally {
        f.dispose();
      }
    }
  }
}
