import * as tf from '@tensorflow/tfjs';
import { microBatchRanges } from '../parallel/accumulate';
import { runGraph, type RunGraphOptions } from './graph';
import { forwardMicroBatch } from './memory';

export interface ForwardOptions extends RunGraphOptions {
  /** Images per pass. @default forwardMicroBatch(model) */
  microBatch?: number;
}

/**
 * The model's output for `x`, computed in passes of `microBatch` images,
 * each freeing its intermediates as it goes (`runGraph`); the outputs are
 * concatenated. The caller disposes the result; `x` stays the caller's.
 */
export function forwardInBatches(model: tf.LayersModel, x: tf.Tensor, options: ForwardOptions = {}): tf.Tensor {
  const n = x.shape[0];
  const size = options.microBatch ?? forwardMicroBatch(model);
  if (n <= size) return runGraph(model, x, options);
  const parts: tf.Tensor[] = [];
  try {
    for (const [s, e] of microBatchRanges(n, size)) {
      const xb = tf.slice(x, s, e - s);
      try {
        parts.push(runGraph(model, xb, options));
      } finally {
        xb.dispose();
      }
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
