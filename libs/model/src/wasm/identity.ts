import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

interface IdentityBackend {
  incRef(dataId: object): void;
}

let stock: KernelFunc | undefined;

/**
 * Identity that shares the input's memory (reference-counted, as the cpu
 * backend does) instead of copying it. tfjs clones every tensor it saves for
 * the backward pass through Identity, so the stock wasm kernel copied each
 * saved activation of a training step once more. String tensors keep the
 * stock kernel.
 */
function identity(args: { inputs: { x: TensorInfo }; backend: unknown; attrs: Record<string, never> }): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === 'string') return stock!(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  (args.backend as IdentityBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export const identityConfig: KernelConfig = { kernelName: 'Identity', backendName: 'wasm', kernelFunc: identity as unknown as KernelFunc };

/** The stock kernel, for string tensors. */
export function setStockIdentity(k: KernelFunc | undefined): void {
  stock ??= k;
}
