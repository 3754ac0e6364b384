import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig, KernelFunc, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { kernelsFor, ptr, type WasmBackendLike } from './module';

/** dx = x > 0 ? dy : 0 in one pass (tfjs composes Step, Cast and Multiply). */
export const RELU_GRAD = 'FedxrayReluGrad';

function reluGrad(args: { inputs: { dy: TensorInfo; x: TensorInfo }; backend: unknown }): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { dy, x } = args.inputs;
  const dx = backend.makeOutput(x.shape.slice(), 'float32');
  const n = x.shape.reduce((a, b) => a * b, 1);
  kernelsFor(backend).relu_grad(ptr(backend, dy), ptr(backend, x), ptr(backend, dx), n);
  return dx;
}

export const reluGradConfig: KernelConfig = { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: reluGrad as unknown as KernelFunc };

/**
 * Relu's gradient through RELU_GRAD where the active backend has it, otherwise
 * exactly tfjs's own composition.
 */
export const reluGradient: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved;
    const g = Array.isArray(dy) ? dy[0] : dy;
    if (g.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())) {
      return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }, {}) as Tensor };
    }
    return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
  },
};
