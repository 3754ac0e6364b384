import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { ModelError } from './errors';
import { BACKBONE_OUTPUT_LAYER, HEAD_LAYERS } from './spec';
import type { ModelSpec } from './spec';
import { isBackboneFrozen } from './densenet';
import { namedVariables } from './weights';
import { registerCpuTrainingKernels } from './cpu-kernels';
import { FusedAdamOptimizer } from './wasm/adam';
import { freezeBatchNormWithLayer } from './frozen-batchnorm';
import { forwardInBatches } from './forward/batches';

/** Keras' fuzz factor: probabilities are clipped to [EPSILON, 1 − EPSILON] before the log. */
const EPSILON = 1e-7;

export interface TrainerOptions {
  /** FedProx proximal term weight μ: loss += μ/2 · Σ‖w − w_ref‖² over trainable weights. @default 0 */
  proximalMu?: number;
  /**
   * A change of the logits z that only the training loss sees: the softmax
   * cross-entropy is taken of z'_c = scale_c · z_c + shift_c (logit adjustment:
   * shift = τ·log prior; restricted softmax: scale < 1 for absent classes).
   * Prediction, evaluation and the reported accuracy use z. Softmax outputs only.
   * Absent: plain cross-entropy of the model's probabilities.
   */
  logitTransform?: LogitTransform;
}

/** Per-class `scale` and `shift` of the logits in the training loss (TrainerOptions.logitTransform). */
export interface LogitTransform {
  scale: number[];
  shift: number[];
}

export interface BatchResult {
  /** Mean cross-entropy over the batch (of the transformed logits under a logit transform; without the proximal term). */
  loss: number;
  /** Examples whose highest-probability class is the label. */
  correct: number;
  count: number;
}

export interface GradientResult extends BatchResult {
  /** Gradients of the batch-mean loss (proximal term included), by weight name. The caller disposes them. */
  grads: Map<string, tf.Tensor>;
}

/** Builds the optimizer a spec names, with Keras' defaults for the other settings. */
export function createOptimizer(spec: ModelSpec): tf.Optimizer {
  const lr = spec.optimizer.learningRate;
  switch (spec.optimizer.name) {
    case 'adam':
      // tfjs's Adam; on wasm with fedxray's kernels one kernel per variable, same bits
      return new FusedAdamOptimizer(lr, 0.9, 0.999, 1e-7);
    case 'sgd':
      return tf.train.sgd(lr);
    case 'adagrad':
      return tf.train.adagrad(lr, 0.1);
  }
}

/** Per-example cross-entropy: categorical for softmax outputs, binary (mean over classes) for sigmoid. */
export function exampleLosses(spec: ModelSpec, probs: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf.clipByValue(probs, EPSILON, 1 - EPSILON);
    if (spec.output === 'softmax') return tf.neg(tf.sum(tf.mul(oneHot, tf.log(p)), 1)) as tf.Tensor1D;
    const bce = tf.add(tf.mul(oneHot, tf.log(p)), tf.mul(tf.sub(1, oneHot), tf.log(tf.sub(1, p))));
    return tf.neg(tf.mean(bce, 1)) as tf.Tensor1D;
  });
}

/**
 * Per-example softmax cross-entropy of transformed logits:
 * −log softmax(scale ⊙ z + shift)_y, computed from the logits (not from clipped
 * probabilities), so a class pushed far down by its shift still has a finite loss.
 */
export function transformedLogitLosses(logits: tf.Tensor2D, oneHot: tf.Tensor2D, t: LogitTransform): tf.Tensor1D {
  return tf.tidy(() => {
    const c = logits.shape[1];
    const z = tf.add(tf.mul(logits, tf.tensor1d(t.scale, 'float32').reshape([1, c])), tf.tensor1d(t.shift, 'float32').reshape([1, c]));
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(z)), 1)) as tf.Tensor1D;
  });
}

/** Refuses a transform that does not fit the spec: one finite scale and shift per class, softmax outputs. */
function checkLogitTransform(spec: ModelSpec, t: LogitTransform): LogitTransform {
  const c = spec.classes.length;
  if (spec.output !== 'softmax') throw new ModelError(`A logit transform needs softmax outputs, but the model's output is ${spec.output}`);
  for (const [name, v] of [['scale', t.scale], ['shift', t.shift]] as const) {
    if (v.length !== c || v.some((x) => !Number.isFinite(x))) {
      throw new ModelError(`Expected logitTransform.${name} to hold ${c} finite numbers (one per class), but got [${v.join(', ')}]`);
    }
  }
  return { scale: [...t.scale], shift: [...t.shift] };
}

function labelTensor(labels: tf.Tensor | ArrayLike<number>, classes: number): tf.Tensor1D {
  const t = labels instanceof tf.Tensor ? tf.tidy(() => tf.cast(tf.reshape(labels, [-1]), 'int32')) : tf.tensor1d(Array.from(labels), 'int32');
  const values = t.dataSync();
  for (const v of values) {
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      t.dispose();
      throw new ModelError(`Expected labels to be class indices in [0, ${classes - 1}], but got ${v}`);
    }
  }
  return t as tf.Tensor1D;
}

function checkInput(model: tf.LayersModel, x: tf.Tensor): void {
  const want = model.inputs[0].shape;
  if (x.rank !== 4 || x.shape.slice(1).some((d, i) => want[i + 1] !== null && d !== want[i + 1])) {
    throw new ModelError(`Expected images of shape [n, ${want.slice(1).join(', ')}], but got [${x.shape.join(', ')}]`);
  }
}

/**
 * A model's training loop, written out so that FedProx and gradient
 * accumulation fit in: forward in training mode (BatchNorm uses batch
 * statistics and updates its moving mean and variance, dropout is active),
 * loss, gradients over the currently trainable weights, optimizer step.
 * While the backbone is frozen it runs in inference mode, as Keras does for
 * transfer learning, so its BatchNorm statistics stay those of the source.
 */
export class Trainer {
  /** Recreated (state reset, as Keras does on recompiling) when the set of trainable weights changes. */
  optimizer: tf.Optimizer;
  private optimizerFor = '';
  private readonly proximalMu: number;
  private readonly logitTransform: LogitTransform | null;
  private reference: Map<string, tf.Tensor> | null = null;
  private readonly backbone: tf.LayersModel;
  private readonly head: tf.layers.Layer[];

  constructor(
    readonly model: tf.LayersModel,
    readonly spec: ModelSpec,
    options: TrainerOptions = {},
  ) {
    this.proximalMu = options.proximalMu ?? 0;
    if (!(this.proximalMu >= 0)) throw new ModelError(`Expected proximalMu ≥ 0, but got ${options.proximalMu}`);
    this.logitTransform = options.logitTransform ? checkLogitTransform(spec, options.logitTransform) : null;
    const outUnits = model.outputs[0].shape[1];
    if (outUnits !== spec.classes.length) {
      throw new ModelError(`Model has ${outUnits} outputs but its spec names ${spec.classes.length} classes`);
    }
    let features: tf.SymbolicTensor;
    try {
      features = model.getLayer(BACKBONE_OUTPUT_LAYER).output as tf.SymbolicTensor;
      this.head = [HEAD_LAYERS.pool, HEAD_LAYERS.hidden, HEAD_LAYERS.norm, HEAD_LAYERS.dropout, HEAD_LAYERS.out].map((n) => model.getLayer(n));
    } catch {
      throw new ModelError(`Expected a DenseNet with the study's head (layers ${BACKBONE_OUTPUT_LAYER}, ${Object.values(HEAD_LAYERS).join(', ')})`);
    }
    this.backbone = tf.model({ inputs: model.inputs, outputs: features });
    // A frozen BatchNorm layer runs in inference mode, as in Keras (partly frozen backbones).
    freezeBatchNormWithLayer(model);
    this.optimizer = createOptimizer(spec);
    // Tests and callers that pick the cpu backend themselves get the fast gradient kernels too.
    registerCpuTrainingKernels();
  }

  /** Probabilities for a batch; `training` turns on batch statistics and dropout. */
  forward(x: tf.Tensor, training: boolean): tf.Tensor2D {
    return this.outputLayer().apply(this.beforeOutput(x, training), { training }) as tf.Tensor2D;
  }

  /** Logits for a batch: the output layer's kernel and bias without its activation (softmax(logits) is `forward`). */
  logits(x: tf.Tensor, training: boolean): tf.Tensor2D {
    return this.logitsOf(this.beforeOutput(x, training));
  }

  /** What the output layer takes: everything up to and including the dropout. */
  protected beforeOutput(x: tf.Tensor, training: boolean): tf.Tensor {
    const frozen = isBackboneFrozen(this.model);
    let h = this.backbone.apply(x, { training: training && !frozen }) as tf.Tensor;
    for (const layer of this.head.slice(0, -1)) h = layer.apply(h, { training }) as tf.Tensor;
    return h;
  }

  private outputLayer(): tf.layers.Layer {
    return this.model.getLayer(HEAD_LAYERS.out);
  }

  private logitsOf(h: tf.Tensor): tf.Tensor2D {
    const weights = this.outputLayer().weights;
    const kernel = weights.find((w) => /kernel/.test(w.originalName));
    const bias = weights.find((w) => /bias/.test(w.originalName));
    if (!kernel) throw new ModelError(`Expected the output layer ${HEAD_LAYERS.out} to have a kernel`);
    const z = tf.matMul(h as tf.Tensor2D, kernel.read() as tf.Tensor2D);
    return (bias ? tf.add(z, bias.read()) : z) as tf.Tensor2D;
  }

  /** FedProx reference (usually the round's global weights), or null to train without the proximal term. */
  setReference(weights: NamedWeights | null): void {
    if (this.reference) for (const t of this.reference.values()) t.dispose();
    this.reference = null;
    if (!weights) return;
    const byName = new Map(weights.map((w) => [w.name, w]));
    const ref = new Map<string, tf.Tensor>();
    for (const { name, variable } of namedVariables(this.model)) {
      if (!variable.trainable) continue;
      const w = byName.get(name);
      if (!w) continue;
      if (w.shape.join(',') !== variable.shape.join(',')) {
        for (const t of ref.values()) t.dispose();
        throw new ModelError(`Reference weight ${name}: expected shape [${variable.shape.join(',')}], got [${w.shape.join(',')}]`);
      }
      ref.set(name, tf.tensor(w.values, w.shape, 'float32'));
    }
    this.reference = ref;
  }

  /** Loss, accuracy and gradients of one batch, without updating the weights (BatchNorm statistics do update). */
  computeGradients(x: tf.Tensor, y: tf.Tensor | ArrayLike<number>): GradientResult {
    this.checkBatch(x);
    const labels = labelTensor(y, this.spec.classes.length);
    if (labels.shape[0] !== x.shape[0]) {
      labels.dispose();
      throw new ModelError(`Expected ${x.shape[0]} labels for ${x.shape[0]} images, but got ${labels.shape[0]}`);
    }
    const vars = namedVariables(this.model, true);
    if (vars.length === 0) {
      labels.dispose();
      throw new ModelError('Nothing to train: every layer is frozen');
    }
    let dataLoss: tf.Scalar | undefined;
    let correct: tf.Scalar | undefined;
    const { value, grads } = tf.tidy(() => {
      const oneHot = tf.oneHot(labels, this.spec.classes.length).toFloat() as tf.Tensor2D;
      return tf.variableGrads(() => {
        let data: tf.Scalar;
        let predicted: tf.Tensor;
        if (this.logitTransform) {
          // Only the loss sees the transform; the accuracy is the model's own (argmax of z = argmax of softmax(z)).
          const z = this.logits(x, true);
          data = tf.mean(transformedLogitLosses(z, oneHot, this.logitTransform)) as tf.Scalar;
          predicted = tf.argMax(z, 1);
        } else {
          const probs = this.forward(x, true);
          data = tf.mean(exampleLosses(this.spec, probs, oneHot)) as tf.Scalar;
          predicted = tf.argMax(probs, 1);
        }
        dataLoss = tf.keep(data);
        correct = tf.keep(tf.sum(tf.cast(tf.equal(predicted, labels), 'float32')) as tf.Scalar);
        if (this.proximalMu === 0 || !this.reference) return data;
        let prox: tf.Tensor = tf.scalar(0);
        for (const { name, variable } of vars) {
          const ref = this.reference.get(name);
          if (ref) prox = tf.add(prox, tf.sum(tf.square(tf.sub(variable.read(), ref))));
        }
        return tf.add(data, tf.mul(this.proximalMu / 2, prox)) as tf.Scalar;
      }, vars.map((v) => v.variable.read() as tf.Variable));
    });
    labels.dispose();
    const byVarName = new Map(vars.map((v) => [(v.variable.read() as tf.Variable).name, v.name]));
    const named = new Map<string, tf.Tensor>();
    for (const [varName, g] of Object.entries(grads)) named.set(byVarName.get(varName) ?? varName, g);
    const result = { grads: named, loss: dataLoss!.dataSync()[0], correct: correct!.dataSync()[0], count: x.shape[0] };
    tf.dispose([...new Set([value, dataLoss!, correct!])]);
    return result;
  }

  /** One optimizer step with gradients keyed by weight name (as `computeGradients` returns them). */
  applyGradients(grads: Map<string, tf.Tensor>): void {
    const vars = namedVariables(this.model, true);
    // tfjs optimizers key their slots by position in the gradient list, so a
    // changed trainable set (unfreezing) needs a fresh optimizer.
    const signature = vars.map((v) => v.name).join('\n');
    if (signature !== this.optimizerFor) {
      if (this.optimizerFor !== '') {
        this.optimizer.dispose();
        this.optimizer = createOptimizer(this.spec);
      }
      this.optimizerFor = signature;
    }
    const map: tf.NamedTensorMap = {};
    for (const { name, variable } of vars) {
      const g = grads.get(name);
      if (!g) throw new ModelError(`No gradient for trainable weight ${name}`);
      map[(variable.read() as tf.Variable).name] = g;
    }
    this.optimizer.applyGradients(map);
  }

  /** Trains on one batch: forward, loss, backward, optimizer step. `y` holds class indices. */
  async trainBatch(x: tf.Tensor, y: tf.Tensor | ArrayLike<number>): Promise<BatchResult> {
    const { grads, loss, correct, count } = this.computeGradients(x, y);
    try {
      this.applyGradients(grads);
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    return { loss, correct, count };
  }

  /** Class probabilities in inference mode, n × C row-major, in passes that fit memory (see predictProbs). */
  predict(x: tf.Tensor): Float32Array {
    this.checkBatch(x);
    return predictProbs(this.model, x as tf.Tensor4D);
  }

  /** Refuses a batch that is not what `forward` takes (images of the model's input shape). */
  protected checkBatch(x: tf.Tensor): void {
    checkInput(this.model, x);
  }

  /** Frees the optimizer state and the FedProx reference; the model stays usable. */
  dispose(): void {
    this.setReference(null);
    this.optimizer.dispose();
  }
}

/**
 * Probabilities and per-example losses of a batch in inference mode, in
 * passes sized to the memory the backend has left (`forwardInBatches`).
 */
export function evaluateBatch(
  model: tf.LayersModel,
  spec: ModelSpec,
  x: tf.Tensor4D,
  labels: tf.Tensor | ArrayLike<number>,
): { probs: Float32Array; losses: Float32Array } {
  checkInput(model, x);
  const y = labelTensor(labels, spec.classes.length);
  if (y.shape[0] !== x.shape[0]) {
    y.dispose();
    throw new ModelError(`Expected ${x.shape[0]} labels for ${x.shape[0]} images, but got ${y.shape[0]}`);
  }
  const [probs, losses] = tf.tidy(() => {
    const p = forwardInBatches(model, x) as tf.Tensor2D;
    const oneHot = tf.oneHot(y, spec.classes.length).toFloat() as tf.Tensor2D;
    return [p, exampleLosses(spec, p, oneHot)];
  });
  y.dispose();
  const out = { probs: Float32Array.from(probs.dataSync() as Float32Array), losses: Float32Array.from(losses.dataSync() as Float32Array) };
  probs.dispose();
  losses.dispose();
  return out;
}

/** Class probabilities in inference mode, n × C row-major, in passes sized to the memory left (`forwardInBatches`). */
export function predictProbs(model: tf.LayersModel, x: tf.Tensor4D): Float32Array {
  checkInput(model, x);
  const probs = forwardInBatches(model, x);
  const out = Float32Array.from(probs.dataSync() as Float32Array);
  probs.dispose();
  return out;
}
