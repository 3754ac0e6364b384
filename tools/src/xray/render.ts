/** Renders one synthetic chest radiograph as 8-bit grayscale. */
import { drawChest } from './anatomy';
import { blur } from './canvas';
import { XRAY_CLASSES, isXrayClass } from './classes';
import { DemoDataError } from './errors';
import { drawLesions } from './lesions';
import { Rng } from './random';

export const MIN_SIZE = 32;
export const MAX_SIZE = 1024;
const LUT_SIZE = 2048;
const LUT_MAX = 2.5;

/**
 * A size×size grayscale chest X-ray-like image of `className`, row-major,
 * a pure function of (className, seed, size).
 */
export function renderXray(className: string, seed: number, size: number): Uint8Array {
  if (!isXrayClass(className)) {
    throw new DemoDataError(`Expected a class name, one of ${XRAY_CLASSES.join(', ')}, but got ${JSON.stringify(className)}`);
  }
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new DemoDataError(`Expected size to be an integer in [${MIN_SIZE}, ${MAX_SIZE}], but got ${size}`);
  }
  if (!Number.isFinite(seed)) throw new DemoDataError(`Expected seed to be a finite number, but got ${seed}`);
  const n = size;
  // The anatomy stream does not depend on the class, so a class changes only the findings.
  const rng = new Rng(`xray:${seed}`);
  const chest = drawChest(rng, n);
  const lesionRng = new Rng(`lesion:${className}:${seed}`);
  const lesion = drawLesions(className, lesionRng, chest);
  const { tissue, air, bone, vessels } = chest;

  const airLoss = rng.range(0.8, 0.9);
  const density = new Float32Array(n * n);
  for (let i = 0; i < density.length; i++) {
    const a = air[i];
    const fill = Math.min(1, Math.max(0, lesion[i]));
    const lung = a > 0 ? a * vessels[i] : 0;
    density[i] = tissue[i] * (1 - airLoss * a * (1 - fill)) + bone[i] + lung;
  }

  // Exposure: film response, contrast, a lateral heel-effect gradient, blur and quantum noise.
  const mu = rng.range(0.7, 1.4);
  const gamma = rng.range(0.8, 1.25);
  const lift = rng.range(0.0, 0.06);
  const heel = rng.normal(0, 0.03);
  const norm = 1 - Math.exp(-mu * 1.5);
  // The film response as a table over density [0, LUT_MAX).
  const lut = new Float32Array(LUT_SIZE + 1);
  for (let k = 0; k <= LUT_SIZE; k++) {
    const y = (1 - Math.exp((-mu * k * LUT_MAX) / LUT_SIZE)) / norm;
    lut[k] = lift + (1 - lift) * Math.min(1, Math.max(0, y)) ** gamma;
  }
  const soft = blur(density, n, Math.max(1, Math.round(n / 128)), 2);
  const noiseSd = rng.range(0.01, 0.03);
  const out = new Uint8Array(n * n);
  for (let v = 0; v < n; v++) {
    for (let u = 0; u < n; u++) {
      const i = v * n + u;
      const q = Math.min(LUT_SIZE, Math.max(0, Math.round((soft[i] * LUT_SIZE) / LUT_MAX)));
      const y = lut[q] + heel * (u / n - 0.5) + noiseSd * rng.noise();
      out[i] = Math.round(255 * Math.min(1, Math.max(0, y)));
    }
  }
  return out;
}
