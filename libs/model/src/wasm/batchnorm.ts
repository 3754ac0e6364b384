import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { kernelsFor, ptr, withScratch, type WasmBackendLike } from './module';

/**
 * Batch normalization in training mode as one kernel: outputs the normalized
 * input and the batch mean and (biased) variance per channel (last axis).
 */
export const BN_TRAIN = 'FedxrayBatchNormTrain';
/** Its gradient: dx (through the batch statistics), dgamma, dbeta. */
export const BN_TRAIN_GRAD = 'FedxrayBatchNormTrainGrad';

function rowsAndChannels(shape: number[]): [number, number] {
  const c = shape[shape.length - 1];
  return [shape.reduce((a, b) => a * b, 1) / c, c];
}

function bnTrain(args: { inputs: { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo }; backend: unknown; attrs: { epsilon: number } }): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, gamma, beta } = args.inputs;
  const [p, c] = rowsAndChannels(x.shape);
  const k = kernelsFor(backend);
  const y = backend.makeOutput(x.shape.slice(), 'float32');
  const mean = backend.makeOutput([c], 'float32');
  const variance = backend.makeOutput([c], 'float32');
  withScratch(backend, 2 * c, (s) =>
    k.bn_train_forward(
      ptr(backend, x),
      ptr(backend, gamma),
      ptr(backend, beta),
      ptr(backend, y),
      ptr(backend, mean),
      ptr(backend, variance),
      s,
      p,
      c,
      args.attrs.epsilon,
    ),
  );
  return [y, mean, variance];
}

function bnTrainGrad(args: {
  inputs: { x: TensorInfo; dy: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma: TensorInfo };
  backend: unknown;
  attrs: { epsilon: number };
}): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, dy, mean, variance, gamma } = args.inputs;
  const [p, c] = rowsAndChannels(x.shape);
  const k = kernelsFor(backend);
  const dx = backend.makeOutput(x.shape.slice(), 'float32');
  const dgamma = backend.makeOutput([c], 'float32');
  const dbeta = backend.makeOutput([c], 'float32');
  withScratch(backend, 4 * c, (s) =>
    k.bn_train_backward(
      ptr(backend, x),
      ptr(backend, dy),
      ptr(backend, mean),
      ptr(backend, variance),
      ptr(backend, gamma),
      ptr(backend, dx),
      ptr(backend, dgamma),
      ptr(backend, dbeta),
      s,
      p,
      c,
      args.attrs.epsilon,
    ),
  );
  return [dx, dgamma, dbeta];
}

export const bnTrainConfig: KernelConfig = { kernelName: BN_TRAIN, backendName: 'wasm', kernelFunc: bnTrain as unknown as KernelFunc };
export const bnTrainGradConfig: KernelConfig = {
  kernelName: BN_TRAIN_GRAD,
  backendName: 'wasm',
  kernelFunc: bnTrainGrad as unknown as KernelFunc,
};

/**
 * Gradient of BN_TRAIN. Only the normalized output carries a gradient: the
 * batch mean and variance outputs feed the moving averages, which are not part
 * of the loss (as in tfjs-layers and Keras).
 */
export const bnTrainGradient: GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, gamma, mean, variance] = saved;
    const g = Array.isArray(dy) ? dy[0] : dy;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(BN_TRAIN_GRAD, { x, dy: g, mean, variance, gamma }, attrs) as Tensor[];
    return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
  },
};

/** Training-mode batch normalization over the last axis through the fused kernels. */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, epsilon: number): [Tensor, Tensor, Tensor] {
  return tf.engine().runKernel(BN_TRAIN, { x, gamma, beta }, { epsilon }) as [Tensor, Tensor, Tensor];
}

interface BatchNormLayerLike {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: { read(): Tensor };
  beta?: { read(): Tensor };
  movingMean: { read(): Tensor; write(t: Tensor): void };
  movingVariance: { read(): Tensor; write(t: Tensor): void };
}
type CallFn = (this: BatchNormLayerLike, inputs: Tensor | Tensor[], kwargs: Record<string, unknown>) => Tensor | Tensor[];

let originalCall: CallFn | undefined;

function batchNormLayerClass(): { prototype: { call: CallFn } } {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization as unknown as [{ prototype: { call: CallFn } }];
  return entry[0];
}

/**
 * Routes tfjs-layers' BatchNormalization in training mode through BN_TRAIN
 * whenever the active backend has the kernel, the layer normalizes the last
 * axis and has both gamma and beta. The moving mean and variance are updated
 * exactly as tfjs-layers does (biased batch variance, `momentum`). Every other
 * case runs the layer's own code. Idempotent.
 */
export function installFusedBatchNorm(): void {
  if (originalCall) return;
  const cls = batchNormLayerClass();
  const original = cls.prototype.call;
  originalCall = original;
  cls.prototype.call = function (this: BatchNormLayerLike, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = kwargs?.training === true;
    const lastAxis = this.axis === -1 || this.axis === input.rank - 1;
    if (!training || !lastAxis || !this.gamma || !this.beta || !tf.getKernel(BN_TRAIN, tf.getBackend())) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const [y, mean, variance] = batchNormTrain(input, this.gamma!.read(), this.beta!.read(), this.epsilon);
      const decay = 1 - this.momentum;
      for (const [v, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), decay)));
        });
      }
      return y;
    });
  };
}

/** Restores tfjs-layers' own BatchNormalization code path. */
export function uninstallFusedBatchNorm(): void {
  if (!originalCall) return;
  batchNormLayerClass().prototype.call = originalCall;
  originalCall = undefined;
}
