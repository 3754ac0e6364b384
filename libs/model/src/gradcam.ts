import * as tf from '@tensorflow/tfjs';
import { ModelError } from './errors';
import { modelUpTo } from './features';
import { BACKBONE_OUTPUT_LAYER, HEAD_LAYERS } from './spec';
import type { ModelSpec } from './spec';

/**
 * A map that cannot show where the evidence lies: `empty` when no location has
 * positive evidence for the class (the ReLU'd map is 0 everywhere, so nothing
 * is coloured), `uniform` when the map varies by less than FLAT_RANGE of its
 * peak across the image (everything is coloured about the same).
 */
export type FlatMap = 'empty' | 'uniform';

/** Relative range (max − min) / max below which a map counts as `uniform`. */
export const FLAT_RANGE = 0.05;

export interface GradCamResult {
  /** Class activation map at the input's resolution, row-major, scaled to [0, 1]. */
  heatmap: Float32Array;
  width: number;
  height: number;
  /** The class explained. */
  classIndex: number;
  /** The model's class probabilities for the image. */
  probs: Float32Array;
  /** Largest value of the map before scaling (0 when it is empty). */
  rawPeak: number;
  /** Where the map is hottest, in input pixels (x to the right, y down; the first such pixel in row-major order). */
  peak: { x: number; y: number };
  /** Why the map shows no location, or null when it does (see FlatMap). */
  flat: FlatMap | null;
}

function featureModel(model: tf.LayersModel): tf.LayersModel {
  return modelUpTo(model, BACKBONE_OUTPUT_LAYER, `Grad-CAM needs the backbone's last layer '${BACKBONE_OUTPUT_LAYER}', which this model lacks`);
}

/**
 * Grad-CAM (Selvaraju et al. 2017) on the backbone's last feature map: the
 * class score's gradient, averaged over space, weights the feature channels;
 * their ReLU'd sum, upsampled to the input size and scaled to [0, 1], marks
 * where the evidence for the class lies. The class score is the output
 * layer's pre-activation (logit), for softmax and sigmoid outputs alike.
 */
export function gradCam(model: tf.LayersModel, spec: ModelSpec, x: tf.Tensor4D, classIndex?: number): GradCamResult {
  if (x.rank !== 4 || x.shape[0] !== 1) throw new ModelError(`Expected one image of shape [1, h, w, c], but got [${x.shape.join(', ')}]`);
  const C = spec.classes.length;
  if (classIndex !== undefined && !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < C)) {
    throw new ModelError(`Expected classIndex in [0, ${C - 1}], but got ${classIndex}`);
  }
  const features = featureModel(model);
  const head = [HEAD_LAYERS.pool, HEAD_LAYERS.hidden, HEAD_LAYERS.norm, HEAD_LAYERS.dropout].map((n) => model.getLayer(n));
  const out = model.getLayer(HEAD_LAYERS.out);
  const [kernel, bias] = out.getWeights();
  const [height, width] = [x.shape[1], x.shape[2]];
  const logitsOf = (a: tf.Tensor): tf.Tensor2D => {
    let h = a;
    for (const layer of head) h = layer.apply(h, { training: false }) as tf.Tensor;
    return tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias) as tf.Tensor2D;
  };
  const probsT = tf.tidy(() => model.predict(x) as tf.Tensor);
  const probs = Float32Array.from(probsT.dataSync() as Float32Array);
  probsT.dispose();
  let cls = classIndex ?? 0;
  if (classIndex === undefined) for (let i = 1; i < C; i++) if (probs[i] > probs[cls]) cls = i;
  const cam = tf.tidy(() => {
    const a = features.predict(x) as tf.Tensor4D;
    const grads = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(logitsOf(t), [0, cls], [1, 1])))(a);
    const alpha = tf.mean(grads, [1, 2], true);
    const map = tf.relu(tf.sum(tf.mul(a, alpha), 3, true)) as tf.Tensor4D;
    return tf.reshape(tf.image.resizeBilinear(map, [height, width], true), [height * width]);
  });
  const heatmap = Float32Array.from(cam.dataSync() as Float32Array);
  cam.dispose();
  return { ...scaleMap(heatmap, width), width, height, classIndex: cls, probs };
}

/** Scales a non-negative map to [0, 1] in place, and finds its peak and whether it is flat. */
export function scaleMap(map: Float32Array, width: number): Pick<GradCamResult, 'heatmap' | 'rawPeak' | 'peak' | 'flat'> {
  let max = 0;
  let min = Infinity;
  let at = 0;
  for (let i = 0; i < map.length; i++) {
    if (map[i] > max) {
      max = map[i];
      at = i;
    }
    if (map[i] < min) min = map[i];
  }
  // Below this the map is rounding noise of a sum that ReLU took to zero.
  const empty = !(max > 1e-12);
  if (!empty) for (let i = 0; i < map.length; i++) map[i] /= max;
  else map.fill(0);
  const flat: FlatMap | null = empty ? 'empty' : (max - min) / max < FLAT_RANGE ? 'uniform' : null;
  return { heatmap: map, rawPeak: empty ? 0 : max, peak: { x: at % width, y: Math.floor(at / width) }, flat };
}
