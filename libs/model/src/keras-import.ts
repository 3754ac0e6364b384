import { open } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from './errors';
import { getNamedWeights, setNamedWeights } from './weights';

/** What an import matched, adapted and left alone. */
export interface KerasImportReport {
  file: string;
  /** Model layers whose weights came from the file. */
  matchedLayers: string[];
  loadedTensors: number;
  loadedValues: number;
  /** Layers in the file with weights that the model has no place for. */
  unmatchedFileLayers: string[];
  /** Model layers with weights the file does not have (they keep their fresh initialisation, e.g. the head of a notop file). */
  missingModelLayers: string[];
  /** Weights present on both sides with different shapes (left initialised). */
  shapeMismatches: string[];
  /** Weights converted to fit (e.g. the stem summed over RGB for one-channel input). */
  adapted: string[];
}

interface H5Attr {
  value: unknown;
}
interface H5Node {
  attrs: Record<string, H5Attr>;
  get(name: string): H5Node | null;
  keys?(): string[];
  value?: unknown;
  shape?: number[] | null;
}

function strings(v: unknown): string[] {
  if (v == null) return [];
  const arr = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<unknown>) : [v];
  return arr.map((s) => (s instanceof Uint8Array ? new TextDecoder().decode(s) : String(s)).replace(/\0+$/, ''));
}

/** Reads every layer's weights from a Keras HDF5 weight file (`model.save_weights` / applications' `*_notop.h5`, or a full `model.save` file). */
export async function readKerasWeights(path: string): Promise<Map<string, NamedWeights>> {
  const fh = await open(path, 'r').catch(() => {
    throw new ModelError(`Expected a Keras HDF5 weight file at ${path}, but it cannot be read`);
  });
  try {
    // The HDF5 signature sits at byte 0, or after a user block of 512·2^k bytes.
    const sig = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    const head = Buffer.alloc(8);
    let found = false;
    for (const at of [0, 512, 1024, 2048, 4096]) {
      const { bytesRead } = await fh.read(head, 0, 8, at);
      if (bytesRead === 8 && head.equals(sig)) found = true;
      if (found || bytesRead < 8) break;
    }
    if (!found) throw new ModelError(`${path} is not an HDF5 file (no HDF5 signature)`);
  } finally {
    await fh.close();
  }
  const h5 = (await import('h5wasm/node')).default as unknown as {
    ready: Promise<unknown>;
    File: new (name: string, mode: string) => H5Node & { close(): void };
  };
  await h5.ready;
  let file: (H5Node & { close(): void }) | undefined;
  try {
    file = new h5.File(path, 'r');
  } catch (err) {
    throw new ModelError(`${path} is not an HDF5 file (${(err as Error).message})`);
  }
  try {
    let root: H5Node = file;
    if (!root.attrs.layer_names && file.get('model_weights')) root = file.get('model_weights')!;
    if (!root.attrs.layer_names) {
      const hint = file.get('layers') ? ' (it looks like a Keras 3 .weights.h5 file; save with the legacy h5 format or tf.keras 2)' : '';
      throw new ModelError(`${path} has no 'layer_names' attribute, so it is not a Keras HDF5 weight file${hint}`);
    }
    const out = new Map<string, NamedWeights>();
    for (const layer of strings(root.attrs.layer_names.value)) {
      const group = root.get(layer);
      if (!group) continue;
      const names = strings(group.attrs.weight_names?.value);
      const weights: NamedWeights = [];
      for (const wn of names) {
        const ds = group.get(wn);
        if (!ds || ds.value == null) throw new ModelError(`${path}: layer ${layer} lists weight ${wn} but has no such dataset`);
        const short = wn.slice(wn.lastIndexOf('/') + 1).replace(/:\d+$/, '');
        const raw = ds.value as ArrayLike<number>;
        weights.push({ name: short, shape: [...(ds.shape ?? [])], values: raw instanceof Float32Array ? Float32Array.from(raw) : Float32Array.from(raw) });
      }
      if (weights.length > 0) out.set(layer, weights);
    }
    return out;
  } finally {
    file.close();
  }
}

/** Sums a [kh, kw, 3, out] kernel over its input channels into [kh, kw, 1, out]. */
function rgbToGrey(values: Float32Array, shape: number[]): Float32Array {
  const [kh, kw, cin, cout] = shape;
  const out = new Float32Array(kh * kw * cout);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < cin; c++) for (let o = 0; o < cout; o++) out[p * cout + o] += values[(p * cin + c) * cout + o];
  }
  return out;
}

/**
 * Loads the weights of a Keras HDF5 file into a model by layer and weight name
 * (Keras' DenseNet names are the model's names). Everything the file has no
 * weights for keeps its initialisation; the report lists what matched and
 * what did not.
 */
export async function importKerasWeights(model: tf.LayersModel, path: string): Promise<KerasImportReport> {
  const file = await readKerasWeights(path);
  const current = getNamedWeights(model);
  const byName = new Map(current.map((w) => [w.name, w]));
  const report: KerasImportReport = {
    file: path,
    matchedLayers: [],
    loadedTensors: 0,
    loadedValues: 0,
    unmatchedFileLayers: [],
    missingModelLayers: [],
    shapeMismatches: [],
    adapted: [],
  };
  const modelLayers = new Set(current.map((w) => w.name.slice(0, w.name.lastIndexOf('/'))));
  for (const [layer, weights] of file) {
    if (!modelLayers.has(layer)) {
      report.unmatchedFileLayers.push(layer);
      continue;
    }
    let any = false;
    for (const w of weights) {
      const target = byName.get(`${layer}/${w.name}`);
      if (!target) {
        report.shapeMismatches.push(`${layer}/${w.name}: not a weight of the model's ${layer}`);
        continue;
      }
      let values = w.values;
      if (w.shape.join(',') !== target.shape.join(',')) {
        const greyStem = w.shape.length === 4 && w.shape[2] === 3 && target.shape[2] === 1 && [0, 1, 3].every((i) => w.shape[i] === target.shape[i]);
        if (!greyStem) {
          report.shapeMismatches.push(`${layer}/${w.name}: file [${w.shape.join(',')}], model [${target.shape.join(',')}]`);
          continue;
        }
        values = rgbToGrey(w.values, w.shape);
        report.adapted.push(`${layer}/${w.name}: summed over RGB for one-channel input`);
      }
      target.values = values;
      report.loadedTensors++;
      report.loadedValues += values.length;
      any = true;
    }
    if (any) report.matchedLayers.push(layer);
  }
  const matched = new Set(report.matchedLayers);
  const fileLayers = new Set(file.keys());
  for (const l of modelLayers) if (!matched.has(l) && !fileLayers.has(l)) report.missingModelLayers.push(l);
  for (const l of modelLayers) if (!matched.has(l) && fileLayers.has(l) && !report.shapeMismatches.some((m) => m.startsWith(`${l}/`))) report.missingModelLayers.push(l);
  setNamedWeights(model, current);
  return report;
}
