import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/**
 * The stock wasm kernels that ours replace, kept for the inputs ours leave to
 * them (other dtypes, ranks or layouts, a bias or an activation).
 */
const stock = new Map<string, KernelConfig>();

/** Keeps the stock kernel a name replaces, for the cases these kernels leave to it. */
export function setStockKernel(config: KernelConfig): void {
  if (!stock.has(config.kernelName)) stock.set(config.kernelName, config);
}

/** Runs the stock kernel `name` replaced by one of ours. */
export function stockKernel(name: string, args: unknown): TensorInfo | TensorInfo[] {
  const k = stock.get(name);
  if (!k) throw new Error(`No stock wasm ${name} kernel to fall back to`);
  return k.kernelFunc(args as Parameters<KernelFunc>[0]) as TensorInfo | TensorInfo[];
}

/**
 * A `setupFunc` for our kernel that runs the stock kernel's: the wasm backend
 * calls the setup of each registered kernel when it starts, and the stock
 * kernels bind their wasm functions there.
 */
export function stockSetup(name: string): NonNullable<KernelConfig['setupFunc']> {
  return (backend) => stock.get(name)?.setupFunc?.(backend);
}

