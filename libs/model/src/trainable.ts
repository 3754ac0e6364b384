import type * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { HEAD_LAYERS, ModelSpecSchema } from './spec';
import type { ModelSpec, ModelSpecInput } from './spec';
import type { NamedWeights } from '@fedxray/protocol';
import { getNamedWeights, weightManifest } from './weights';
import { closeNames } from './suggest';

/**
 * What trains: every layer (`all`), the study's head only (`head`), or every
 * layer from a Keras layer name on, in model order (`from:conv5_block1_0_bn`),
 * as `for l in model.layers[:i]: l.trainable = False` does in Keras.
 */
export type TrainableSetting = { kind: 'all' } | { kind: 'head' } | { kind: 'from'; layer: string };

export const TRAINABLE_FORMS = ['all', 'head', 'from:<keras layer name>'] as const;

/** Parses `all`, `head` or `from:<layer>` (layer names are checked against a model by `planTrainable`). */
export function parseTrainable(text: string): TrainableSetting {
  const t = text.trim();
  if (t === 'all' || t === 'head') return { kind: t };
  if (t.startsWith('from:') && t.length > 'from:'.length) return { kind: 'from', layer: t.slice('from:'.length) };
  throw new ModelError(`Expected trainable to be one of ${TRAINABLE_FORMS.join(', ')}, but got "${text}"`);
}

export function formatTrainable(s: TrainableSetting): string {
  return s.kind === 'from' ? `from:${s.layer}` : s.kind;
}

/** Which layers and tensors train under a setting, for one model spec. */
export interface TrainablePlan {
  setting: TrainableSetting;
  /** Layers whose weights the optimizer updates (and whose BatchNorm runs in training mode). */
  trainedLayers: string[];
  /** Layers left as they are: their BatchNorm runs in inference mode, as Keras does with trainable=False. */
  frozenLayers: string[];
  /** Tensors the optimizer updates, in manifest order. */
  trained: string[];
  /** BatchNorm moving means and variances of trained layers: they move in training mode without a gradient. */
  statistics: string[];
  /** Tensors that do not change while training under this setting. */
  frozen: string[];
  /**
   * True when nothing before the head's pooling trains: the backbone's pooled
   * features are then a fixed function of the image and can be computed once.
   */
  backboneFrozen: boolean;
}

const HEAD_NAMES: ReadonlySet<string> = new Set(Object.values(HEAD_LAYERS));

function isTrainedLayer(setting: TrainableSetting, index: number, name: string, fromIndex: number): boolean {
  if (setting.kind === 'all') return true;
  if (setting.kind === 'head') return HEAD_NAMES.has(name);
  return index >= fromIndex;
}

/** The index of `layer` among the model's layers, or a ModelError suggesting close names. */
function layerIndex(model: tf.LayersModel, layer: string): number {
  const names = model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => l.name);
  const i = model.layers.findIndex((l) => l.name === layer && l.getClassName() !== 'InputLayer');
  if (i >= 0) return i;
  const close = closeNames(layer, names);
  const hint = close.length > 0 ? `; did you mean ${close.map((n) => `from:${n}`).join(', ')}?` : '';
  throw new ModelError(`Expected from:<layer> to name a layer of ${model.name}, but it has no layer "${layer}"${hint}`);
}

/** The plan of a setting on a built model (the model is not changed). */
export function planTrainableOn(model: tf.LayersModel, setting: TrainableSetting): TrainablePlan {
  const fromIndex = setting.kind === 'from' ? layerIndex(model, setting.layer) : -1;
  const trainedLayers: string[] = [];
  const frozenLayers: string[] = [];
  model.layers.forEach((l, i) => {
    if (l.getClassName() === 'InputLayer') return;
    (isTrainedLayer(setting, i, l.name, fromIndex) ? trainedLayers : frozenLayers).push(l.name);
  });
  const trainedSet = new Set(trainedLayers);
  const plan: TrainablePlan = { setting, trainedLayers, frozenLayers, trained: [], statistics: [], frozen: [], backboneFrozen: false };
  for (const w of weightManifest(model)) {
    const layer = w.name.slice(0, w.name.lastIndexOf('/'));
    if (!trainedSet.has(layer)) plan.frozen.push(w.name);
    else if (w.batchNormStat) plan.statistics.push(w.name);
    else plan.trained.push(w.name);
  }
  const pool = model.layers.findIndex((l) => l.name === HEAD_LAYERS.pool);
  plan.backboneFrozen = model.layers.every((l, i) => i > pool || !trainedSet.has(l.name) || l.weights.length === 0);
  return plan;
}

const planCache = new Map<string, TrainablePlan>();

/**
 * The plan of a setting for a spec: which layers and tensors train. Builds
 * the model once per spec and setting (structure only), so the coordinator can
 * ask without holding a model. Refuses an unknown `from:` layer, suggesting
 * close names.
 */
export function planTrainable(specIn: ModelSpec | ModelSpecInput, setting: TrainableSetting): TrainablePlan {
  const spec = ModelSpecSchema.parse(specIn);
  const key = JSON.stringify([spec.arch, spec.channels, spec.classes.length, spec.head, formatTrainable(setting)]);
  const known = planCache.get(key);
  if (known) return known;
  // Layer names do not depend on the input size: build at a size every architecture accepts.
  const model = buildModel({ ...spec, imageSize: Math.max(spec.imageSize, 32), freezeBackbone: false }, { seed: 0 });
  try {
    const plan = planTrainableOn(model, setting);
    planCache.set(key, plan);
    return plan;
  } finally {
    model.dispose();
  }
}

/**
 * Sets each layer's `trainable` flag for a setting and returns the plan. The
 * Trainer then updates only the trained tensors (a changed set starts a
 * fresh optimizer, as recompiling does in Keras), and frozen BatchNorm layers
 * run in inference mode.
 */
export function applyTrainable(model: tf.LayersModel, setting: TrainableSetting): TrainablePlan {
  const plan = planTrainableOn(model, setting);
  const trained = new Set(plan.trainedLayers);
  for (const l of model.layers) if (l.getClassName() !== 'InputLayer') l.trainable = trained.has(l.name);
  return plan;
}

/**
 * The tensors a training step under `plan` changed, to send back: the
 * trained ones, plus the moving statistics of trained BatchNorm layers when
 * `statistics` is set (a strategy that pools them asks for them). Frozen
 * tensors never travel.
 */
export function updatedWeights(model: tf.LayersModel, plan: TrainablePlan, o: { statistics?: boolean } = {}): NamedWeights {
  const keep = new Set(o.statistics ? [...plan.trained, ...plan.statistics] : plan.trained);
  return getNamedWeights(model).filter((w) => keep.has(w.name));
}
