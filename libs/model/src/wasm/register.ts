import * as tf from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs';
import { onBackendReady } from '../backend';
import { bnTrainConfig, bnTrainGradConfig, bnTrainGradient, installFusedBatchNorm, uninstallFusedBatchNorm } from './batchnorm';
import { conv2dBackpropFilterConfig, conv2dBackpropInputConfig, conv2dConfig, fusedConv2dConfig } from './conv';
import { identityConfig, setStockIdentity } from './identity';
import { maxPoolGradConfig } from './pool';
import { reluGradConfig, reluGradient } from './relu';
import { concatConfig, sliceConfig, splitVConfig } from './slice';
import { setStockKernel } from './stock';
import { adamStepConfig } from './adam';

const KERNELS: KernelConfig[] = [
  conv2dConfig,
  fusedConv2dConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  bnTrainConfig,
  bnTrainGradConfig,
  reluGradConfig,
  identityConfig,
  maxPoolGradConfig,
  sliceConfig,
  splitVConfig,
  concatConfig,
  adamStepConfig,
];
/** Kernels that hand some inputs (other dtypes, higher ranks) to the stock kernel they replace. */
const WITH_STOCK = new Set<KernelConfig>([conv2dConfig, fusedConv2dConfig, sliceConfig, splitVConfig, concatConfig]);
const GRADIENTS: GradConfig[] = [bnTrainGradient, reluGradient];

/** Names of the kernels `registerWasmTrainingKernels` adds to (or replaces on) the wasm backend. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

let saved: { kernels: (KernelConfig | undefined)[]; gradients: (GradConfig | undefined)[] } | undefined;

/**
 * Registers the training kernels on tfjs's wasm backend: Conv2D and
 * FusedConv2D (without bias or activation) as im2col matrix products,
 * Conv2DBackpropFilter (absent from stock wasm), a faster Conv2DBackpropInput,
 * a fused training-mode
 * BatchNormalization with its gradient, a one-pass Relu gradient, a one-pass
 * MaxPoolGrad, an Identity that shares memory instead of copying it, and
 * Slice/SplitV/Concat that copy rows inside the heap; and routes
 * tfjs-layers' BatchNormalization through the fused kernel while training on a
 * backend that has it. Call it after `@tensorflow/tfjs-backend-wasm` is
 * imported (importing it registers the stock kernels over these); calling it
 * again is cheap and re-registers any kernel that was replaced. `initBackend`
 * calls it whenever it starts wasm.
 */
export function registerWasmTrainingKernels(): void {
  saved ??= {
    kernels: KERNELS.map((k) => tf.getKernel(k.kernelName, 'wasm')),
    gradients: GRADIENTS.map((g) => tf.getGradient(g.kernelName)),
  };
  for (const k of KERNELS) {
    const current = tf.getKernel(k.kernelName, 'wasm');
    if (k === identityConfig && current && current.kernelFunc !== k.kernelFunc) setStockIdentity(current.kernelFunc);
    if (WITH_STOCK.has(k) && current && current.kernelFunc !== k.kernelFunc) setStockKernel(current);
    if (current?.kernelFunc === k.kernelFunc) continue;
    if (current) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
  for (const g of GRADIENTS) tf.registerGradient(g);
  installFusedBatchNorm();
}

/** Puts back what `registerWasmTrainingKernels` replaced (for comparisons and tests). */
export function unregisterWasmTrainingKernels(): void {
  if (!saved) return;
  KERNELS.forEach((k, i) => {
    tf.unregisterKernel(k.kernelName, 'wasm');
    const prev = saved!.kernels[i];
    if (prev) tf.registerKernel(prev);
  });
  GRADIENTS.forEach((g, i) => {
    const prev = saved!.gradients[i];
    if (prev) tf.registerGradient(prev);
  });
  uninstallFusedBatchNorm();
  saved = undefined;
}

/** Whether the training kernels are the ones registered on the wasm backend right now. */
export function wasmTrainingKernelsRegistered(): boolean {
  return KERNELS.every((k) => tf.getKernel(k.kernelName, 'wasm')?.kernelFunc === k.kernelFunc);
}

// Whoever starts the wasm backend through initBackend gets the training kernels,
// so `auto` finds a wasm backend that can train.
onBackendReady('wasm', () => registerWasmTrainingKernels());
