import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '@fedxray/runtime';
import { ModelSpecSchema } from './spec';
import type { ModelSpec, ModelSpecInput } from './spec';

/** A densenet-tiny spec small enough for unit tests. */
/** No dropout by default: tfjs draws dropout masks unseeded, which would make assertions on a few steps flaky. */
export function tinySpec(over: Partial<ModelSpecInput> = {}): ModelSpec {
  return ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 32, channels: 1, classes: ['left', 'right'], head: { units: 16, dropout: 0 }, ...over });
}

/** Deterministic pseudo-random images in [0, 1). */
export function randomImages(n: number, size: number, channels: number, seed = 1): tf.Tensor4D {
  return tf.randomUniform([n, size, size, channels], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/**
 * Images with one bright Gaussian blob on a dim noisy background: label 0
 * has it in the left third, label 1 in the right third (vertical position
 * random); with `classes` 3, label 2 has no blob.
 */
export function blobImages(n: number, size: number, seed = 7, classes: 2 | 3 = 2): { x: tf.Tensor4D; labels: number[]; centers: [number, number][] } {
  const rand = mulberry32(seed);
  const data = new Float32Array(n * size * size);
  const labels: number[] = [];
  const centers: [number, number][] = [];
  const sigma = size / 10;
  for (let i = 0; i < n; i++) {
    const label = i % classes;
    const cx = label === 0 ? size * (0.15 + 0.15 * rand()) : size * (0.7 + 0.15 * rand());
    const cy = size * (0.25 + 0.5 * rand());
    labels.push(label);
    centers.push([cx, cy]);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        const blob = label === 2 ? 0 : 0.8 * Math.exp(-d2 / (2 * sigma * sigma));
        data[(i * size + y) * size + x] = 0.1 + 0.1 * rand() + blob;
      }
    }
  }
  return { x: tf.tensor4d(data, [n, size, size, 1]), labels, centers };
}
