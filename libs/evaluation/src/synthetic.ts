import { mulberry32 } from '@fedxray/runtime';

/**
 * Synthetic classifier outputs for the tests: softmax over Gaussian logits,
 * the true class's logit shifted up by `margin`, every logit spread by
 * `spread`. A large spread piles scores up next to 0 and 1 as trained
 * networks do; a small margin makes the classes overlap.
 */
export interface SyntheticOutputs {
  probs: Float32Array;
  labels: Int32Array;
}

function gaussian(random: () => number): number {
  let u = 0;
  while (u === 0) u = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export function syntheticOutputs(n: number, classes: number, margin: number, spread: number, seed: number): SyntheticOutputs {
  const random = mulberry32(seed);
  const probs = new Float32Array(n * classes);
  const labels = new Int32Array(n);
  const z = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    const y = Math.floor(random() * classes);
    labels[i] = y;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) {
      // A small per-class offset so the classes are not exchangeable.
      z[k] = (k === y ? margin : 0) + spread * gaussian(random) + 0.3 * k;
      max = Math.max(max, z[k]);
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(z[k] - max);
    for (let k = 0; k < classes; k++) probs[i * classes + k] = Math.exp(z[k] - max) / sum;
  }
  return { probs, labels };
}
