import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from './errors';

/** One weight tensor of a model, as the manifest lists it. */
export interface WeightEntry {
  name: string;
  shape: number[];
  trainable: boolean;
  batchNormStat: boolean;
}

interface Slot {
  name: string;
  variable: tf.LayerVariable;
  trainable: boolean;
}

/** The weight's own short name (`kernel`, `moving_mean`), without scope or uniquifying suffix. */
function shortName(v: tf.LayerVariable): string {
  const original = (v as unknown as { originalName?: string }).originalName ?? v.name;
  const last = original.slice(original.lastIndexOf('/') + 1);
  return last.replace(/:\d+$/, '');
}

/**
 * Every weight of the model in layer order, named `<layer name>/<weight name>`
 * (Keras' names, e.g. `conv1/conv/kernel`, `conv2_block1_0_bn/moving_mean`).
 * The names come from layer names, never from tfjs' process-wide variable
 * names, so they are the same for every model instance in every process.
 */
function slots(model: tf.LayersModel): Slot[] {
  const out: Slot[] = [];
  const seen = new Set<string>();
  for (const layer of model.layers) {
    for (const variable of layer.weights) {
      const name = `${layer.name}/${shortName(variable)}`;
      if (seen.has(name)) throw new ModelError(`Model has two weights named ${name}`);
      seen.add(name);
      out.push({ name, variable, trainable: layer.trainable && variable.trainable });
    }
  }
  return out;
}

/** The model's variables under their stable names; `trainableOnly` keeps those the optimizer updates now. */
export function namedVariables(model: tf.LayersModel, trainableOnly = false): { name: string; variable: tf.LayerVariable }[] {
  return slots(model)
    .filter((s) => !trainableOnly || s.trainable)
    .map((s) => ({ name: s.name, variable: s.variable }));
}

const BN_STAT = /\/moving_(mean|variance)$/;

/**
 * Names, shapes and roles of all weights, in the order `getNamedWeights` returns them.
 * `trainable` is whether the optimizer updates the weight now (false for
 * BatchNorm moving statistics and for weights of frozen layers).
 */
export function weightManifest(model: tf.LayersModel): WeightEntry[] {
  return slots(model).map((s) => ({
    name: s.name,
    shape: [...s.variable.shape] as number[],
    trainable: s.trainable,
    batchNormStat: BN_STAT.test(s.name),
  }));
}

/** Copies out all weights (BatchNorm moving statistics included), ordered and named. */
export function getNamedWeights(model: tf.LayersModel): NamedWeights {
  return slots(model).map((s) => {
    const t = s.variable.read();
    return { name: s.name, shape: [...t.shape], values: Float32Array.from(t.dataSync() as Float32Array) };
  });
}

/**
 * Writes weights into the model by name. Every weight of the model must be
 * present with its exact shape, and no unknown name is accepted; otherwise
 * nothing is written and a ModelError lists what is wrong.
 */
export function setNamedWeights(model: tf.LayersModel, weights: NamedWeights): void {
  const byName = new Map<string, NamedWeights[number]>();
  for (const w of weights) {
    if (byName.has(w.name)) throw new ModelError(`Weight ${w.name} appears twice`);
    byName.set(w.name, w);
  }
  const problems: string[] = [];
  const all = slots(model);
  const known = new Set(all.map((s) => s.name));
  for (const s of all) {
    const w = byName.get(s.name);
    if (!w) {
      problems.push(`missing ${s.name} [${s.variable.shape.join(',')}]`);
      continue;
    }
    const expected = s.variable.shape as number[];
    const count = w.shape.reduce((a, b) => a * b, 1);
    if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
      problems.push(`${s.name}: expected shape [${expected.join(',')}], got [${w.shape.join(',')}]`);
    } else if (w.values.length !== count) {
      problems.push(`${s.name}: shape [${w.shape.join(',')}] needs ${count} values, got ${w.values.length}`);
    }
  }
  for (const w of weights) if (!known.has(w.name)) problems.push(`unknown ${w.name}`);
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    const more = problems.length > 10 ? ` (and ${problems.length - 10} more)` : '';
    throw new ModelError(`Weights do not fit the model: ${shown}${more}`);
  }
  for (const s of all) {
    const w = byName.get(s.name)!;
    const t = tf.tensor(w.values, w.shape, 'float32');
    s.variable.write(t);
    t.dispose();
  }
}
