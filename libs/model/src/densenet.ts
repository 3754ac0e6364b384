import * as tf from '@tensorflow/tfjs';
import { mulberry32Bits } from '@fedxray/runtime';
import { ModelError } from './errors';
import { ARCH_CONFIGS, BACKBONE_OUTPUT_LAYER, HEAD_LAYERS, ModelSpecSchema } from './spec';
import type { ArchConfig, ModelSpec, ModelSpecInput } from './spec';

/** Keras' DenseNet BatchNormalization epsilon. */
const BN_EPSILON = 1.001e-5;

export interface BuildOptions {
  /** Seed for the weight initialisers: the same seed gives the same weights. Random if absent. */
  seed?: number;
}

/** Per-layer seeds derived from one seed, so layers do not share a random stream. */
function seeder(seed: number | undefined): () => number | undefined {
  if (seed === undefined) return () => undefined;
  const bits = mulberry32Bits((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
  return () => bits() % 2147483647;
}

function glorot(nextSeed: () => number | undefined): ReturnType<typeof tf.initializers.glorotUniform> {
  const seed = nextSeed();
  return seed === undefined ? tf.initializers.glorotUniform({}) : tf.initializers.glorotUniform({ seed });
}

function bn(name: string, momentum: number): tf.layers.Layer {
  return tf.layers.batchNormalization({ axis: 3, epsilon: BN_EPSILON, momentum, name });
}

function relu(name: string): tf.layers.Layer {
  return tf.layers.activation({ activation: 'relu', name });
}

function conv(
  name: string,
  filters: number,
  kernelSize: number,
  nextSeed: () => number | undefined,
  opts: { strides?: number; padding?: 'same' | 'valid' } = {},
): tf.layers.Layer {
  return tf.layers.conv2d({
    name,
    filters,
    kernelSize,
    strides: opts.strides ?? 1,
    padding: opts.padding ?? 'valid',
    useBias: false,
    kernelInitializer: glorot(nextSeed),
  });
}

function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

function channelsOf(x: tf.SymbolicTensor): number {
  return x.shape[3] as number;
}

/** Keras `conv_block`: BN-ReLU-Conv1×1(bottleneck) → BN-ReLU-Conv3×3(growth) → concatenate. */
function convBlock(x: tf.SymbolicTensor, cfg: ArchConfig, name: string, seed: () => number | undefined): tf.SymbolicTensor {
  let y = apply(bn(`${name}_0_bn`, cfg.batchNormMomentum), x);
  y = apply(relu(`${name}_0_relu`), y);
  y = apply(conv(`${name}_1_conv`, cfg.bottleneck * cfg.growthRate, 1, seed), y);
  y = apply(bn(`${name}_1_bn`, cfg.batchNormMomentum), y);
  y = apply(relu(`${name}_1_relu`), y);
  y = apply(conv(`${name}_2_conv`, cfg.growthRate, 3, seed, { padding: 'same' }), y);
  return apply(tf.layers.concatenate({ axis: 3, name: `${name}_concat` }), [x, y]);
}

/** Keras `transition_block`: BN-ReLU-Conv1×1(compressed) → AveragePool 2/2. */
function transitionBlock(x: tf.SymbolicTensor, cfg: ArchConfig, name: string, seed: () => number | undefined): tf.SymbolicTensor {
  let y = apply(bn(`${name}_bn`, cfg.batchNormMomentum), x);
  y = apply(relu(`${name}_relu`), y);
  y = apply(conv(`${name}_conv`, Math.floor(channelsOf(y) * cfg.compression), 1, seed), y);
  return apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, name: `${name}_pool` }), y);
}

/** Spatial side of the backbone's output for a given input side, or throws if it reaches 0. */
export function featureSize(cfg: ArchConfig, imageSize: number): number {
  let s = imageSize + 6; // ZeroPadding2D(3)
  s = Math.floor((s - 7) / 2) + 1; // conv1/conv 7×7 stride 2, valid
  s = s + 2; // ZeroPadding2D(1)
  s = Math.floor((s - 3) / 2) + 1; // pool1 3×3 stride 2, valid
  for (let i = 0; i < cfg.blocks.length - 1; i++) s = Math.floor(s / 2); // transitions
  return s;
}

/**
 * The DenseNet backbone exactly as keras.applications builds it (layer names,
 * order, epsilon), followed by the study's head:
 * GlobalAveragePooling2D → Dense(units, activation) → BatchNormalization →
 * Dropout(p) → Dense(classes, softmax|sigmoid).
 */
export function buildModel(specIn: ModelSpec | ModelSpecInput, options: BuildOptions = {}): tf.LayersModel {
  const spec = ModelSpecSchema.parse(specIn);
  const cfg = { ...ARCH_CONFIGS[spec.arch], batchNormMomentum: spec.batchNormMomentum ?? ARCH_CONFIGS[spec.arch].batchNormMomentum };
  if (featureSize(cfg, spec.imageSize) < 1) {
    throw new ModelError(
      `Expected imageSize large enough for ${spec.arch} (${cfg.blocks.length - 1} transitions after a stride-4 stem), but got ${spec.imageSize}`,
    );
  }
  const seed = seeder(options.seed);
  const input = tf.input({ shape: [spec.imageSize, spec.imageSize, spec.channels], name: 'input_1' });

  let x = apply(tf.layers.zeroPadding2d({ padding: [[3, 3], [3, 3]], name: 'zero_padding2d' }), input);
  x = apply(conv('conv1/conv', cfg.initialFilters, 7, seed, { strides: 2 }), x);
  x = apply(bn('conv1/bn', cfg.batchNormMomentum), x);
  x = apply(relu('conv1/relu'), x);
  x = apply(tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]], name: 'zero_padding2d_1' }), x);
  x = apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1' }), x);

  cfg.blocks.forEach((n, b) => {
    const stage = b + 2;
    for (let i = 1; i <= n; i++) x = convBlock(x, cfg, `conv${stage}_block${i}`, seed);
    if (b < cfg.blocks.length - 1) x = transitionBlock(x, cfg, `pool${stage}`, seed);
  });
  x = apply(bn('bn', cfg.batchNormMomentum), x);
  x = apply(relu(BACKBONE_OUTPUT_LAYER), x);

  // The study's head; Keras' default names for these layers in a fresh session.
  x = apply(tf.layers.globalAveragePooling2d({ name: HEAD_LAYERS.pool }), x);
  x = apply(
    tf.layers.dense({ units: spec.head.units, activation: spec.head.activation, name: HEAD_LAYERS.hidden, kernelInitializer: glorot(seed) }),
    x,
  );
  x = apply(tf.layers.batchNormalization({ name: HEAD_LAYERS.norm, momentum: cfg.batchNormMomentum }), x);
  x = apply(tf.layers.dropout({ rate: spec.head.dropout, name: HEAD_LAYERS.dropout }), x);
  const output = apply(
    tf.layers.dense({ units: spec.classes.length, activation: spec.output, name: HEAD_LAYERS.out, kernelInitializer: glorot(seed) }),
    x,
  );
  const model = tf.model({ inputs: input, outputs: output, name: spec.arch });
  if (spec.freezeBackbone) setBackboneTrainable(model, false);
  specs.set(model, spec);
  return model;
}

const specs = new WeakMap<tf.LayersModel, ModelSpec>();

/** The spec a model was built or loaded with, if it came from `buildModel` or `loadModel`. */
export function specOf(model: tf.LayersModel): ModelSpec | undefined {
  return specs.get(model);
}

/** Records the spec of a model (for models made another way, e.g. loaded). */
export function rememberSpec(model: tf.LayersModel, spec: ModelSpec): void {
  specs.set(model, spec);
}

const HEAD_NAMES: ReadonlySet<string> = new Set(Object.values(HEAD_LAYERS));

/** True for layers of the DenseNet backbone, false for the head (and the input). */
export function isBackboneLayer(layer: tf.layers.Layer): boolean {
  return !HEAD_NAMES.has(layer.name) && layer.getClassName() !== 'InputLayer';
}

/** Freezes (false) or unfreezes (true) every backbone layer; the head stays trainable. */
export function setBackboneTrainable(model: tf.LayersModel, trainable: boolean): void {
  for (const layer of model.layers) if (isBackboneLayer(layer)) layer.trainable = trainable;
}

/** Whether every backbone layer is frozen. */
export function isBackboneFrozen(model: tf.LayersModel): boolean {
  const backbone = model.layers.filter(isBackboneLayer);
  return backbone.length > 0 && backbone.every((l) => !l.trainable);
}
