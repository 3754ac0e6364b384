import type * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';
import { namedVariables, weightManifest } from '../weights';

/** Where each weight lives in a flat float32 buffer, in manifest order. */
export interface SlotLayout {
  name: string;
  shape: number[];
  offset: number;
  size: number;
  batchNormStat: boolean;
}

export function layoutOf(model: tf.LayersModel): { slots: SlotLayout[]; floats: number } {
  let offset = 0;
  const slots = weightManifest(model).map((w) => {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const s = { name: w.name, shape: w.shape, offset, size, batchNormStat: w.batchNormStat };
    offset += size;
    return s;
  });
  return { slots, floats: offset };
}

export function checkSameLayout(a: SlotLayout[], b: SlotLayout[]): void {
  if (a.length !== b.length) throw new ModelError(`Expected ${a.length} weights in the worker's model, but it has ${b.length}`);
  a.forEach((s, i) => {
    if (s.name !== b[i].name || s.size !== b[i].size) {
      throw new ModelError(`Weight ${i}: expected ${s.name} [${s.shape}], but the worker's model has ${b[i].name} [${b[i].shape}]`);
    }
  });
}

/** Copies every weight of the model into `buf` (one dataSync per weight). */
export function writeWeights(model: tf.LayersModel, slots: SlotLayout[], buf: Float32Array): void {
  namedVariables(model).forEach(({ variable }, i) => {
    const s = slots[i];
    buf.set(variable.read().dataSync() as Float32Array, s.offset);
  });
}
