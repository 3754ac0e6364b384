import * as tf from '@tensorflow/tfjs';
import { buildModel, isBackboneLayer } from './densenet';
import { ModelSpecSchema } from './spec';
import type { ModelSpec, ModelSpecInput } from './spec';

export interface ModelSummary {
  arch: string;
  imageSize: number;
  channels: number;
  classes: number;
  /** All weight values, BatchNorm moving statistics included (Keras' count_params). */
  params: number;
  /** Values the optimizer updates (no moving statistics; none of a frozen backbone). */
  trainableParams: number;
  /** Values in the backbone (everything before the head). */
  backboneParams: number;
  weightTensors: number;
  /** Bytes of all weights as float32. */
  bytes: number;
}

/** Counts a spec's parameters by building the model (structure only, no training). */
export function modelSummary(specIn: ModelSpec | ModelSpecInput): ModelSummary {
  const spec = ModelSpecSchema.parse(specIn);
  const model = buildModel(spec, { seed: 0 });
  try {
    const count = (ws: tf.LayerVariable[]) => ws.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
    const params = count(model.weights);
    return {
      arch: spec.arch,
      imageSize: spec.imageSize,
      channels: spec.channels,
      classes: spec.classes.length,
      params,
      trainableParams: count(model.trainableWeights),
      backboneParams: model.layers.filter(isBackboneLayer).reduce((n, l) => n + count(l.weights), 0),
      weightTensors: model.weights.length,
      bytes: params * 4,
    };
  } finally {
    model.dispose();
  }
}
