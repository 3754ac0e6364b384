import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';

/** Loss, accuracy and gradients of one (micro-)batch, as `Trainer.computeGradients` returns them. */
export interface MicroBatchGradients {
  grads: Map<string, tf.Tensor>;
  loss: number;
  correct: number;
  count: number;
}

export type GradientFn = (x: tf.Tensor4D, labels: Int32Array) => MicroBatchGradients;

/** Contiguous [start, end) ranges of at most `size` covering [0, n). */
export function microBatchRanges(n: number, size: number): [number, number][] {
  if (!Number.isInteger(size) || size < 1) throw new ModelError(`Expected a micro-batch size ≥ 1, but got ${size}`);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}

/**
 * Splits `n` examples into `parts` contiguous shares whose sizes differ by at
 * most one (empty shares when n < parts).
 */
export function splitEvenly(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  let s = 0;
  for (let i = 0; i < parts; i++) {
    const len = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([s, s + len]);
    s += len;
  }
  return out;
}

/**
 * Gradient accumulation: runs `gradFn` on micro-batches of at most
 * `microBatch` examples and returns the example-weighted mean of their
 * gradients and losses — for a model without batch-dependent layers exactly
 * the gradient of the whole batch's mean loss. BatchNormalization in training
 * mode normalizes each micro-batch with that micro-batch's own statistics, and
 * updates its moving averages once per micro-batch (see docs/BENCHMARKS.md).
 * The caller disposes the returned gradients.
 */
export function accumulateGradients(gradFn: GradientFn, x: tf.Tensor4D, labels: ArrayLike<number>, microBatch: number): MicroBatchGradients {
  const n = x.shape[0];
  if (labels.length !== n) throw new ModelError(`Expected ${n} labels for ${n} images, but got ${labels.length}`);
  const y = Int32Array.from(labels);
  const sum = new Map<string, tf.Tensor>();
  let loss = 0;
  let correct = 0;
  try {
    for (const [s, e] of microBatchRanges(n, microBatch)) {
      const xb = tf.slice(x, [s, 0, 0, 0], [e - s, -1, -1, -1]);
      let r: MicroBatchGradients;
      try {
        r = gradFn(xb, y.subarray(s, e));
      } finally {
        xb.dispose();
      }
      const w = r.count / n;
      for (const [name, g] of r.grads) {
        const prev = sum.get(name);
        const next = tf.tidy(() => (prev ? tf.add(prev, tf.mul(g, w)) : tf.mul(g, w)));
        prev?.dispose();
        g.dispose();
        sum.set(name, next);
      }
      loss += r.loss * r.count;
      correct += r.correct;
    }
  } catch (err) {
    for (const g of sum.values()) g.dispose();
    throw err;
  }
  return { grads: sum, loss: loss / n, correct, count: n };
}

/**
 * Images per forward/backward pass that keep a DenseNet-121 training step well
 * inside the 4 GiB wasm heap: 4 at 224×224, more for smaller images.
 */
export function defaultMicroBatch(imageSize: number): number {
  return Math.max(1, Math.min(64, Math.floor((4 * 224 * 224) / (imageSize * imageSize))));
}
