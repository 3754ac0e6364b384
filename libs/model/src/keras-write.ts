import type * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { isBackboneLayer } from './densenet';
import { getNamedWeights } from './weights';

/** One layer's weights with Keras' short names (`kernel`, `moving_mean`). */
export interface KerasLayerWeights {
  layer: string;
  weights: NamedWeights;
}

interface H5Group {
  get(name: string): unknown;
  create_group(name: string): H5Group;
  create_attribute(name: string, value: unknown): void;
  create_dataset(o: { name: string; data: Float32Array; shape: number[]; dtype: string }): void;
}

/** Creates `path` (slash-separated) group by group under `parent`, as h5py does for layer names like `conv1/conv`. */
function ensureGroup(parent: H5Group, path: string): H5Group {
  let g = parent;
  for (const part of path.split('/')) g = (g.get(part) as H5Group | null) ?? g.create_group(part);
  return g;
}

/**
 * Writes weights in the HDF5 layout of Keras 2's `model.save_weights(path)`
 * (h5 format) and of keras-applications' weight files: root attributes
 * `layer_names`, `backend`, `keras_version`; one group per layer with the
 * attribute `weight_names` (`<layer>/kernel:0`, …) and each dataset at that
 * path inside the layer's group. Layers without weights are listed with no
 * weight names, as Keras does.
 */
export async function writeKerasWeightsFile(path: string, layers: readonly KerasLayerWeights[], o: { kerasVersion?: string } = {}): Promise<void> {
  const h5 = (await import('h5wasm/node')).default as unknown as { ready: Promise<unknown>; File: new (p: string, mode: string) => H5Group & { close(): void } };
  await h5.ready;
  const f = new h5.File(path, 'w');
  try {
    f.create_attribute('layer_names', layers.map((l) => l.layer));
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', o.kerasVersion ?? '2.13.1');
    for (const { layer, weights } of layers) {
      const g = ensureGroup(f, layer);
      const names = weights.map((w) => `${layer}/${w.name}:0`);
      g.create_attribute('weight_names', names);
      weights.forEach((w, i) => {
        const full = names[i];
        ensureGroup(g, full.slice(0, full.lastIndexOf('/')));
        g.create_dataset({ name: full, data: w.values, shape: w.shape, dtype: '<f4' });
      });
    }
  } finally {
    f.close();
  }
}

/**
 * A model's layers (all, or the backbone only as in a keras.applications
 * `include_top=False` file) with their weights, in model order.
 */
export function kerasLayersOf(model: tf.LayersModel, include: 'all' | 'backbone' = 'all'): KerasLayerWeights[] {
  const all = getNamedWeights(model);
  return model.layers
    .filter((l) => l.getClassName() !== 'InputLayer' && (include === 'all' || isBackboneLayer(l)))
    .map((l) => ({
      layer: l.name,
      weights: all.filter((w) => w.name.startsWith(`${l.name}/`)).map((w) => ({ ...w, name: w.name.slice(l.name.length + 1) })),
    }));
}

/**
 * Writes a model's weights as a Keras HDF5 weight file — the backbone only
 * with `notop` (the layout of `DenseNet121(include_top=False)`'s ImageNet
 * file) — and returns the named weights written, e.g. to make a fixture a
 * test can compare against bit for bit.
 */
export async function writeKerasWeights(path: string, model: tf.LayersModel, o: { notop?: boolean } = {}): Promise<NamedWeights> {
  const layers = kerasLayersOf(model, o.notop ? 'backbone' : 'all');
  await writeKerasWeightsFile(path, layers);
  return layers.flatMap((l) => l.weights.map((w) => ({ ...w, name: `${l.layer}/${w.name}` })));
}
