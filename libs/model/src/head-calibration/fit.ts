// Classifier calibration with virtual representations (CCVR; Luo et al.,
// "No Fear of Heterogeneity", NeurIPS 2021): under label skew the averaged
// last layer ranks images well but sets the classes' thresholds badly (a class
// that lives at one hospital is pushed down by every other hospital's
// updates). From the pooled class statistics the coordinator models each
// class's features as a Gaussian N(μ_c, Σ_c), draws the same number of
// virtual features of every class it has images of, and retrains the last
// layer (features → logits) on them from its averaged weights. No image and
// no single hospital's statistics are needed: only the pooled sums.
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from '../errors';
import { HEAD_LAYERS } from '../spec';
import type { HeadStats } from './stats';
import { triangleLength } from './stats';

export interface HeadFitOptions {
  /** Virtual features drawn per class that has images. @default 200 */
  samplesPerClass?: number;
  /** Adam steps on mini-batches of the virtual features. @default 300 */
  steps?: number;
  /** @default 64 */
  batchSize?: number;
  /** Adam's learning rate. @default 1e-3 */
  learningRate?: number;
  /** Seeds the draws and the mini-batches: the same statistics and seed give the same layer. */
  seed: number;
  /** The model's output: softmax with cross-entropy, or the study's sigmoid with binary cross-entropy. */
  output: 'softmax' | 'sigmoid';
}

/** A small seeded generator (mulberry32) and standard normals from it (Box–Muller). */
function generator(seed: number): { uniform: () => number; normal: () => number } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
}

/**
 * Class c's mean and the lower Cholesky factor of its covariance (unbiased),
 * with a ridge on the diagonal: 10⁻³ of the mean variance, so that a class
 * with fewer images than features still has a factor, plus 10⁻⁶ of the
 * largest mean square E[f²], which exceeds the float32 rounding of the sums
 * (2⁻²⁴ of E[f²]) that computing the covariance as E[ffᵀ] − μμᵀ turns into
 * errors: a feature that barely varies about a large mean would otherwise
 * leave a matrix that is not positive definite, and a factor that is not
 * finite. If one is not finite all the same, the factor is the diagonal one.
 */
export function classGaussian(s: HeadStats, c: number): { mean: Float64Array; chol: Float64Array } {
  const F = s.features;
  const T = triangleLength(F);
  const n = s.counts[c];
  if (!(n >= 1)) throw new ModelError(`Class ${c} has no image: no Gaussian`);
  const mean = new Float64Array(F);
  for (let a = 0; a < F; a++) mean[a] = s.sum[c * F + a] / n;
  const cov = new Float64Array(F * F);
  let k = c * T;
  let trace = 0;
  for (let a = 0; a < F; a++) {
    for (let b = a; b < F; b++) {
      const v = n > 1 ? (s.second[k] - n * mean[a] * mean[b]) / (n - 1) : 0;
      cov[a * F + b] = v;
      cov[b * F + a] = v;
      k++;
    }
    trace += Math.max(0, cov[a * F + a]);
  }
  let meanSquare = 0;
  for (let a = 0, d = c * T; a < F; d += F - a, a++) meanSquare = Math.max(meanSquare, s.second[d] / n);
  const ridge = (1e-3 * trace) / F + 1e-6 * meanSquare + 1e-8;
  const L = new Float64Array(F * F);
  for (let i = 0; i < F; i++) {
    for (let j = 0; j <= i; j++) {
      let v = cov[i * F + j] + (i === j ? ridge : 0);
      for (let m = 0; m < j; m++) v -= L[i * F + m] * L[j * F + m];
      // rounding may leave a pivot at or below 0 in a direction the data never varied in
      L[i * F + j] = i === j ? Math.sqrt(Math.max(v, ridge)) : v / L[j * F + j];
    }
  }
  if (!L.every(Number.isFinite)) {
    L.fill(0);
    for (let a = 0; a < F; a++) L[a * F + a] = Math.sqrt(Math.max(0, cov[a * F + a]) + ridge);
  }
  return { mean, chol: L };
}

/** The virtual features: samplesPerClass draws of each class that has images, and their labels. */
export function virtualFeatures(s: HeadStats, samplesPerClass: number, seed: number): { x: Float64Array; y: Int32Array } {
  const F = s.features;
  const rng = generator(seed);
  const present = [...Array(s.classes).keys()].filter((c) => s.counts[c] >= 1);
  const x = new Float64Array(present.length * samplesPerClass * F);
  const y = new Int32Array(present.length * samplesPerClass);
  const z = new Float64Array(F);
  let r = 0;
  for (const c of present) {
    const { mean, chol } = classGaussian(s, c);
    for (let m = 0; m < samplesPerClass; m++, r++) {
      y[r] = c;
      for (let a = 0; a < F; a++) z[a] = rng.normal();
      for (let a = 0; a < F; a++) {
        let v = mean[a];
        for (let b = 0; b <= a; b++) v += chol[a * F + b] * z[b];
        x[r * F + a] = v;
      }
    }
  }
  return { x, y };
}

/**
 * The last layer (kernel F×C row-major, bias C) retrained on virtual
 * features drawn from the pooled statistics, starting from the given
 * weights. Returns new arrays; the inputs are not changed.
 */
export function fitHeadOnStats(kernel: Float32Array, bias: Float32Array, s: HeadStats, o: HeadFitOptions): { kernel: Float32Array; bias: Float32Array; samples: number } {
  const F = s.features;
  const C = s.classes;
  if (kernel.length !== F * C || bias.length !== C) throw new ModelError(`Expected a ${F}×${C} kernel and ${C} biases, got ${kernel.length} and ${bias.length} values`);
  const samplesPerClass = o.samplesPerClass ?? 200;
  const steps = o.steps ?? 300;
  const batch = o.batchSize ?? 64;
  const lr = o.learningRate ?? 1e-3;
  const { x, y } = virtualFeatures(s, samplesPerClass, o.seed);
  const n = y.length;
  // parameters: kernel then bias, in float64, with Adam's moments
  const P = F * C + C;
  const w = new Float64Array(P);
  w.set(kernel);
  w.set(bias, F * C);
  const m1 = new Float64Array(P);
  const m2 = new Float64Array(P);
  const grad = new Float64Array(P);
  const logits = new Float64Array(C);
  const rng = generator(o.seed ^ 0x9e3779b9);
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  for (let t = 1; t <= steps && n > 0; t++) {
    grad.fill(0);
    for (let k = 0; k < batch; k++) {
      const i = Math.min(n - 1, Math.floor(rng.uniform() * n));
      const row = i * F;
      for (let c = 0; c < C; c++) logits[c] = w[F * C + c];
      for (let a = 0; a < F; a++) {
        const v = x[row + a];
        for (let c = 0; c < C; c++) logits[c] += v * w[a * C + c];
      }
      // dLoss/dlogit: softmax − one-hot, or sigmoid − one-hot per output
      if (o.output === 'softmax') {
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, logits[c]);
        let z = 0;
        for (let c = 0; c < C; c++) z += (logits[c] = Math.exp(logits[c] - max));
        for (let c = 0; c < C; c++) logits[c] = logits[c] / z - (c === y[i] ? 1 : 0);
      } else {
        for (let c = 0; c < C; c++) logits[c] = 1 / (1 + Math.exp(-logits[c])) - (c === y[i] ? 1 : 0);
      }
      for (let a = 0; a < F; a++) {
        const v = x[row + a] / batch;
        if (v === 0) continue;
        for (let c = 0; c < C; c++) grad[a * C + c] += v * logits[c];
      }
      for (let c = 0; c < C; c++) grad[F * C + c] += logits[c] / batch;
    }
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    for (let p = 0; p < P; p++) {
      m1[p] = b1 * m1[p] + (1 - b1) * grad[p];
      m2[p] = b2 * m2[p] + (1 - b2) * grad[p] * grad[p];
      w[p] -= (lr * (m1[p] / c1)) / (Math.sqrt(m2[p] / c2) + eps);
    }
  }
  return { kernel: Float32Array.from(w.subarray(0, F * C)), bias: Float32Array.from(w.subarray(F * C)), samples: n };
}

/** The names of the last layer's tensors in a model's named weights. */
export const HEAD_OUT_KERNEL = 'dense_1/kernel';
export const HEAD_OUT_BIAS = 'dense_1/bias';

/**
 * Per feature, where the last layer's inputs sit and how far they spread, as
 * every participant can read it from the global weights: the head BatchNorm's
 * β and |γ| (its output is γ·x̂ + β). A secure sum packs the class statistics
 * relative to it (@fedxray/secure's head-sum); 0 and 1 where the layer has no β or γ.
 */
export function headReference(global: NamedWeights, features: number): { center: Float64Array; scale: Float64Array } {
  const beta = global.find((t) => t.name === `${HEAD_LAYERS.norm}/beta`);
  const gamma = global.find((t) => t.name === `${HEAD_LAYERS.norm}/gamma`);
  for (const t of [beta, gamma]) if (t && t.values.length !== features) throw new ModelError(`Expected ${t.name} to hold ${features} values, got ${t.values.length}`);
  return {
    center: beta ? Float64Array.from(beta.values) : new Float64Array(features),
    scale: gamma ? Float64Array.from(gamma.values, Math.abs) : new Float64Array(features).fill(1),
  };
}

/** `global` with its last layer retrained on the pooled statistics (every other tensor shared, not copied). */
export function calibrateHeadWeights(global: NamedWeights, s: HeadStats, o: HeadFitOptions): NamedWeights {
  const kernel = global.find((t) => t.name === HEAD_OUT_KERNEL);
  const bias = global.find((t) => t.name === HEAD_OUT_BIAS);
  if (!kernel || !bias) throw new ModelError(`Expected the head's last layer (${HEAD_OUT_KERNEL}, ${HEAD_OUT_BIAS}) among the weights`);
  const fitted = fitHeadOnStats(kernel.values, bias.values, s, o);
  return global.map((t) => (t === kernel ? { ...t, values: fitted.kernel } : t === bias ? { ...t, values: fitted.bias } : t));
}
