import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeDirAtomic } from '@fedxray/runtime';
import { ModelError } from './errors';
import { ModelSpecSchema } from './spec';
import { rememberSpec, specOf } from './densenet';
import type { ModelSpec } from './spec';

/** File the spec and caller's metadata are kept in, beside tfjs' `model.json`. */
export const META_FILE = 'fedxray.json';
export const MODEL_FILE = 'model.json';
const SHARD_BYTES = 4 * 1024 * 1024;

export interface SavedMeta {
  spec: ModelSpec;
  [key: string]: unknown;
}

function shardName(i: number, n: number): string {
  return `group1-shard${i + 1}of${n}.bin`;
}

/**
 * Saves in the tfjs LayersModel format (`model.json` + 4 MiB binary shards, what
 * `tf.loadLayersModel` reads) plus `fedxray.json` holding the spec and `meta`
 * (the spec defaults to the one the model was built or loaded with).
 * Atomic: everything is written to a sibling temporary directory that then
 * replaces `dir`, so a reader never sees half a model.
 */
export async function saveModel(model: tf.LayersModel, dir: string, meta?: SavedMeta): Promise<void> {
  const known = meta?.spec ?? specOf(model);
  if (!known) throw new ModelError('saveModel needs meta.spec for a model that was not made by buildModel or loadModel');
  const spec = ModelSpecSchema.parse(known);
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const data = new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]));
        const n = Math.max(1, Math.ceil(data.byteLength / SHARD_BYTES));
        const paths: string[] = [];
        for (let i = 0; i < n; i++) {
          const p = shardName(i, n);
          paths.push(p);
          await writeFile(join(tmp, p), data.subarray(i * SHARD_BYTES, Math.min(data.byteLength, (i + 1) * SHARD_BYTES)));
        }
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          weightsManifest: [{ paths, weights: artifacts.weightSpecs }],
        };
        await writeFile(join(tmp, MODEL_FILE), JSON.stringify(modelJson));
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    // The spec's normalisation is also written where predict, evaluate and --weights read it.
    const normalize = spec.normalize ? { normalize: spec.normalize } : {};
    await writeFile(join(tmp, META_FILE), `${JSON.stringify({ format: 'fedxray-model', version: 1, ...normalize, ...meta, spec }, null, 2)}\n`);
  });
}

async function readJson(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new ModelError(`Expected ${what} at ${path}, but it cannot be read`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelError(`Expected ${path} to be JSON: ${(err as Error).message}`);
  }
}

/** Reads the spec and metadata a saved model directory carries. */
export async function readModelMeta(dir: string): Promise<SavedMeta> {
  const raw = (await readJson(join(dir, META_FILE), `a fedxray model (${META_FILE})`)) as Record<string, unknown>;
  const parsed = ModelSpecSchema.safeParse(raw.spec);
  if (!parsed.success) throw new ModelError(`${join(dir, META_FILE)} has no valid spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { ...raw, spec: parsed.data };
}

/** Loads a model saved by `saveModel` (any tfjs LayersModel directory with a `fedxray.json`). */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; spec: ModelSpec; meta: SavedMeta }> {
  const meta = await readModelMeta(dir);
  const model = await readLayersModel(dir);
  const units = model.outputs[0].shape[1];
  if (units !== meta.spec.classes.length) {
    model.dispose();
    throw new ModelError(`Model in ${dir} has ${units} outputs but its spec names ${meta.spec.classes.length} classes`);
  }
  rememberSpec(model, meta.spec);
  return { model, spec: meta.spec, meta };
}

/** Loads the tfjs LayersModel of a directory (`model.json` + its weight shards), with or without `fedxray.json`. */
export async function readLayersModel(dir: string): Promise<tf.LayersModel> {
  const json = (await readJson(join(dir, MODEL_FILE), 'a tfjs model')) as tf.io.ModelJSON;
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new ModelError(`${join(dir, MODEL_FILE)} is not a tfjs LayersModel model.json`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const b = await readFile(join(dir, p)).catch(() => {
        throw new ModelError(`Weight shard ${p} listed in ${MODEL_FILE} is missing from ${dir}`);
      });
      buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    }
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers) }));
}
