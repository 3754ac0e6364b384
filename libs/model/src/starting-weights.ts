import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { fetchImagenetWeights, imagenetFile, type FetchImagenetOptions } from './fetch/imagenet';
import { META_FILE, MODEL_FILE, readLayersModel, readModelMeta } from './io';
import { importKerasWeights } from './keras-import';
import { HEAD_LAYERS, ModelSpecSchema } from './spec';
import type { ModelSpec, ModelSpecInput } from './spec';
import { hashNamedWeights } from './weights-hash';
import { getNamedWeights, setNamedWeights } from './weights';

/** Where a run's first global model comes from. */
export type WeightsSource = { kind: 'random' } | { kind: 'imagenet' } | { kind: 'keras'; path: string } | { kind: 'folder'; path: string };

export const WEIGHTS_SOURCE_FORMS = ['random', 'imagenet', '<file.h5>', '<model folder>'] as const;

/** `random`, `imagenet`, a Keras HDF5 file, or a fedxray/tfjs model folder (told apart on disk). */
export async function parseWeightsSource(text: string): Promise<WeightsSource> {
  return parseWeightsSourceSync(text);
}

/** As `parseWeightsSource`, without waiting (for configuration checks that run before anything starts). */
export function parseWeightsSourceSync(text: string): WeightsSource {
  const t = text.trim();
  if (t === 'random' || t === 'imagenet') return { kind: t };
  const s = statSync(t, { throwIfNoEntry: false });
  if (!s) throw new ModelError(`Expected --weights to be one of ${WEIGHTS_SOURCE_FORMS.join(', ')}, but "${text}" is neither a keyword nor an existing file or folder`);
  return s.isDirectory() ? { kind: 'folder', path: t } : { kind: 'keras', path: t };
}

/** What the source's weights were trained with, where it says (a fedxray model folder does). */
export interface SavedPreprocessing {
  channels: number;
  imageSize?: number;
  normalize?: 'rescale' | 'imagenet';
}

export interface StartingWeights {
  source: WeightsSource;
  /** Every tensor of the spec's model, in manifest order. */
  weights: NamedWeights;
  /** SHA-256 over the named tensors in manifest order (`hashNamedWeights`), for the run record. */
  hash: string;
  /** One line for the log and the run record, e.g. `imagenet: densenet121_…_notop.h5 (md5 30ee…); head random (seed 0)`. */
  description: string;
  /** What else to know: head left random, file layers not used, a different image size. */
  notes: string[];
  saved?: SavedPreprocessing;
}

export interface StartingWeightsOptions {
  /** Seed of everything the source does not provide (all of `random`, the head of a notop file). @default 0 */
  seed?: number;
  /** Download options for `imagenet` (cache directory, mirror, progress, proxy environment). */
  fetch?: Omit<FetchImagenetOptions, 'fromFile'>;
}

function listed(xs: readonly string[], max = 8): string {
  return xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} (and ${xs.length - max} more)`;
}

const HEAD_NAMES: ReadonlySet<string> = new Set(Object.values(HEAD_LAYERS));

/** Loads a Keras file into `target`; refuses missing backbone layers and shape differences, naming them. */
async function loadKeras(target: tf.LayersModel, path: string, spec: ModelSpec, seed: number): Promise<{ notes: string[]; loaded: number }> {
  const report = await importKerasWeights(target, path);
  const missing = report.missingModelLayers.filter((l) => !HEAD_NAMES.has(l));
  if (missing.length > 0) {
    throw new ModelError(`${path} lacks ${missing.length} layer(s) of ${spec.arch}'s backbone: ${listed(missing)} (is it a file of another architecture?)`);
  }
  if (report.shapeMismatches.length > 0) {
    throw new ModelError(`${path} does not fit ${spec.arch} (${spec.imageSize}×${spec.imageSize}×${spec.channels}, ${spec.classes.length} classes): shapes differ for ${listed(report.shapeMismatches)}`);
  }
  const notes: string[] = [];
  const head = report.missingModelLayers.filter((l) => HEAD_NAMES.has(l));
  if (head.length > 0) notes.push(`head layers ${head.join(', ')} not in the file: seeded random (seed ${seed})`);
  if (report.unmatchedFileLayers.length > 0) notes.push(`file layers not used: ${listed(report.unmatchedFileLayers)}`);
  notes.push(...report.adapted);
  return { notes, loaded: report.loadedTensors };
}

/** Refuses a saved spec that does not describe the same network as the run's (the image size may differ). */
function checkSavedSpec(dir: string, saved: ModelSpec, spec: ModelSpec): string[] {
  const differ: string[] = [];
  if (saved.arch !== spec.arch) differ.push(`arch ${saved.arch}, the run ${spec.arch}`);
  if (saved.classes.join(',') !== spec.classes.join(',')) differ.push(`classes ${saved.classes.join(',')}, the run ${spec.classes.join(',')} (same names in the same order needed)`);
  if (saved.channels !== spec.channels) differ.push(`${saved.channels} channel(s), the run ${spec.channels}`);
  if (saved.head.units !== spec.head.units || saved.head.activation !== spec.head.activation) {
    differ.push(`head Dense(${saved.head.units}, ${saved.head.activation}), the run Dense(${spec.head.units}, ${spec.head.activation})`);
  }
  if (saved.output !== spec.output) differ.push(`output ${saved.output}, the run ${spec.output}`);
  if (differ.length > 0) throw new ModelError(`The model in ${dir} does not fit this run: it has ${differ.join('; ')}`);
  if (saved.imageSize === spec.imageSize) return [];
  // Convolutions, BatchNorm and a head behind global average pooling: no weight depends on the input size.
  return [`trained at ${saved.imageSize} px, used at ${spec.imageSize} px (DenseNet weights do not depend on the input size)`];
}

/** Reads a model folder's weights into `target`, by name, refusing anything that does not fit. */
async function loadFolder(target: tf.LayersModel, dir: string, spec: ModelSpec): Promise<{ notes: string[]; saved?: SavedPreprocessing }> {
  const hasMeta = await stat(join(dir, META_FILE)).then(
    () => true,
    () => false,
  );
  let notes: string[] = [];
  let saved: SavedPreprocessing | undefined;
  if (hasMeta) {
    const meta = await readModelMeta(dir);
    notes = checkSavedSpec(dir, meta.spec, spec);
    const normalize = meta.normalize === 'imagenet' || meta.normalize === 'rescale' ? meta.normalize : meta.spec.normalize;
    saved = { channels: meta.spec.channels, imageSize: meta.spec.imageSize, normalize };
  } else {
    notes.push(`${dir} has no ${META_FILE}: weights matched by name and shape only`);
  }
  const source = await readLayersModel(dir).catch((err: Error) => {
    throw new ModelError(`Expected a fedxray or tfjs model folder (${MODEL_FILE} and its weight shards) at ${dir}: ${err.message}`);
  });
  try {
    setNamedWeights(target, getNamedWeights(source));
  } catch (err) {
    throw new ModelError(`The weights in ${dir} do not fit ${spec.arch} with ${spec.classes.length} classes: ${(err as Error).message.replace(/^Weights do not fit the model: /, '')}`);
  } finally {
    source.dispose();
  }
  return { notes, saved };
}

/**
 * Resolves a `--weights` source to the named weights of the spec's model: a
 * seeded random model (`random`), Keras' ImageNet notop file (fetched into the
 * cache when missing; the head stays seeded-random), a Keras `.h5` file, or a
 * fedxray/tfjs model folder such as an earlier run's global model. Every
 * mismatch (architecture, classes, channels, missing layers or tensors,
 * shapes) is refused with a ModelError saying which. Returns the weights in
 * manifest order, a description and a content hash for the run record.
 */
export async function resolveStartingWeights(source: string | WeightsSource, specIn: ModelSpec | ModelSpecInput, o: StartingWeightsOptions = {}): Promise<StartingWeights> {
  const src = typeof source === 'string' ? await parseWeightsSource(source) : source;
  const spec = ModelSpecSchema.parse(specIn);
  const seed = o.seed ?? 0;
  let imagenetPath = '';
  if (src.kind === 'imagenet') {
    imagenetFile(spec.arch);
    if (spec.channels !== 3) throw new ModelError(`ImageNet weights expect 3 input channels, but the spec has ${spec.channels}: use 3 (grayscale X-rays are replicated to RGB)`);
    imagenetPath = (await fetchImagenetWeights(spec.arch, o.fetch ?? {})).path;
  }
  const target = buildModel({ ...spec, freezeBackbone: false }, { seed });
  try {
    let description: string;
    let notes: string[] = [];
    let saved: SavedPreprocessing | undefined;
    if (src.kind === 'random') {
      description = `random (seed ${seed})`;
    } else if (src.kind === 'imagenet') {
      const f = imagenetFile(spec.arch);
      notes = (await loadKeras(target, imagenetPath, spec, seed)).notes;
      description = `imagenet: ${f.file} (md5 ${f.md5}); head random (seed ${seed})`;
      saved = { channels: 3, normalize: 'imagenet' };
    } else if (src.kind === 'keras') {
      const r = await loadKeras(target, src.path, spec, seed);
      notes = r.notes;
      description = `keras: ${src.path} (${r.loaded} tensors)${notes.some((n) => n.startsWith('head layers')) ? `; head random (seed ${seed})` : ''}`;
    } else {
      ({ notes, saved } = await loadFolder(target, src.path, spec));
      description = `folder: ${src.path} (${spec.arch}, classes ${spec.classes.join(',')})`;
    }
    const weights = getNamedWeights(target);
    return { source: src, weights, hash: hashNamedWeights(weights), description, notes, saved };
  } finally {
    target.dispose();
  }
}
