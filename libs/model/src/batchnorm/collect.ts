import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';
import { forwardInBatches } from '../forward/batches';
import { forwardMicroBatch } from '../forward/memory';
import { BN_TRAIN, batchNormTrain } from '../wasm/batchnorm';
import { namedVariables, weightManifest } from '../weights';
import { batchNormStatNames, type BatchNormStatsReport } from './report';

/** The parts of tfjs-layers' BatchNormalization the collector reads. */
interface BatchNormLayer {
  name: string;
  trainable: boolean;
  axis: number;
  epsilon: number;
  gamma?: { read(): tf.Tensor };
  beta?: { read(): tf.Tensor };
}

/** Float64 sums over every position a layer has normalised. */
interface LayerSums {
  positions: number;
  sum: Float64Array;
  sumSquares: Float64Array;
}

export interface CollectOptions {
  /**
   * Images per forward pass. Each BatchNorm layer normalises with that
   * pass's own statistics, as training does with its (micro-)batches, so
   * give the micro-batch training used. Smaller when memory demands it.
   * @default forwardMicroBatch(model)
   */
  batchSize?: number;
}

/** Batch mean and population variance over every axis but the last, and the normalised input. */
function normaliseWithBatchStats(layer: BatchNormLayer, x: tf.Tensor): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (layer.axis !== -1 && layer.axis !== x.rank - 1) {
    throw new ModelError(`BatchNorm layer ${layer.name} normalises axis ${layer.axis}; only the last axis (channels-last) is supported`);
  }
  const gamma = layer.gamma?.read();
  const beta = layer.beta?.read();
  if (gamma && beta && tf.getKernel(BN_TRAIN, tf.getBackend())) {
    // the fused kernel training runs on wasm, so calibration normalises with the same arithmetic
    const [y, mean, variance] = batchNormTrain(x, gamma, beta, layer.epsilon);
    return { y, mean, variance };
  }
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return { y: tf.batchNorm(x, mean, variance, beta, gamma, layer.epsilon), mean, variance };
}

/**
 * Collects every BatchNorm layer's statistics over a stream of images, as
 * PyTorch's `torch.optim.swa_utils.update_bn` does with momentum None: the
 * model runs forward with each BatchNorm layer normalising by its batch's
 * statistics (as in training; no dropout, no gradient, no weight changes),
 * and each layer adds the exact per-channel sum and sum of squares of its
 * input (from its batch mean and variance, in float64) over every position
 * of every image. The report's mean and population variance are those of
 * all positions seen: a cumulative average, not a moving one, and the same
 * whether the images come in one stream or in several whose reports
 * `poolBatchNormStats` pools exactly. BatchNorm layers that training runs
 * in inference mode (a frozen backbone) normalise with their moving
 * statistics and report them unchanged.
 */
export class BatchNormStatsCollector {
  private readonly sums = new Map<string, LayerSums>();
  private seen = 0;

  constructor(
    readonly model: tf.LayersModel,
    private readonly options: CollectOptions = {},
  ) {
    if (options.batchSize !== undefined && !(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new ModelError(`Expected batchSize to be a positive integer, but got ${options.batchSize}`);
    }
  }

  /** Images added so far. */
  get examples(): number {
    return this.seen;
  }

  /** Runs `x` [n, h, w, c] forward in passes of `batchSize` images and adds its statistics. */
  add(x: tf.Tensor4D): void {
    const batchSize = Math.min(this.options.batchSize ?? Infinity, forwardMicroBatch(this.model));
    const out = forwardInBatches(this.model, x, {
      microBatch: batchSize,
      override: (layer, inputs) => (layer.getClassName() === 'BatchNormalization' && layer.trainable ? this.normalise(layer as unknown as BatchNormLayer, inputs[0]) : null),
    });
    out.dispose();
    this.seen += x.shape[0];
  }

  private normalise(layer: BatchNormLayer, x: tf.Tensor): tf.Tensor {
    const { y, mean, variance } = normaliseWithBatchStats(layer, x);
    const m = mean.dataSync();
    const v = variance.dataSync();
    const c = m.length;
    let s = this.sums.get(layer.name);
    if (!s) {
      s = { positions: 0, sum: new Float64Array(c), sumSquares: new Float64Array(c) };
      this.sums.set(layer.name, s);
    }
    const n = x.size / c;
    for (let k = 0; k < c; k++) {
      s.sum[k] += n * m[k];
      s.sumSquares[k] += n * (v[k] + m[k] * m[k]);
    }
    s.positions += n;
    return y;
  }

  /**
   * Every BatchNorm layer's `<layer>/moving_mean` and `<layer>/moving_variance`
   * over all images added, in the model's weight order.
   */
  report(): BatchNormStatsReport {
    if (this.seen === 0) throw new ModelError('No images were added: BatchNorm statistics need at least one');
    const current = new Map(namedVariables(this.model).map((v) => [v.name, v.variable]));
    const stats = batchNormStatNames(weightManifest(this.model)).map((name) => {
      const variable = current.get(name)!;
      const layer = name.slice(0, name.lastIndexOf('/'));
      const s = this.sums.get(layer);
      let values: Float32Array;
      if (!s) values = Float32Array.from(variable.read().dataSync() as Float32Array);
      else if (name.endsWith('/moving_mean')) values = Float32Array.from(s.sum, (x) => x / s.positions);
      else values = Float32Array.from(s.sum, (x, k) => Math.max(0, s.sumSquares[k] / s.positions - (x / s.positions) ** 2));
      return { name, shape: [...variable.shape] as number[], values };
    });
    return { examples: this.seen, stats };
  }
}
