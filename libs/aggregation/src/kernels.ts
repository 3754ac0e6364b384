import { KERNELS_WASM_BASE64 } from './kernels-wasm';

/** A fold kernel: returns 1 when some input value it read was NaN or ±Inf, else 0. */
export type FoldKernel = (pa: number, pxs: number, stride: number, k: number, n: number, pw: number, scale: number, pout: number) => number;

/** The SIMD kernels of kernels.wat, bound to one memory. Pointers are byte offsets (16-byte aligned), n a multiple of 16. */
export interface WasmKernels {
  readonly memory: WebAssembly.Memory;
  foldSet: FoldKernel;
  foldAdd: FoldKernel;
  foldSetOut: FoldKernel;
  foldAddOut: FoldKernel;
  scaleOut(pa: number, n: number, scale: number, pout: number): void;
  /** 1 when some of the n float32 values at p is NaN or ±Inf, else 0. */
  scan(p: number, n: number): number;
}

/** wasm32 addresses at most 4 GiB; stay well inside it. */
export const MAX_WASM_BYTES = 2 ** 31;
const PAGE = 65536;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernels (null without wasm SIMD); a Module can be posted to a worker thread. */
export function kernelsModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = Buffer.from(KERNELS_WASM_BASE64, 'base64');
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** True when this runtime runs the SIMD kernels (Node ≥ 16 does). */
export function wasmKernelsAvailable(): boolean {
  return kernelsModule() !== null;
}

/**
 * Instantiates the kernels over a fresh memory of at least `bytes` bytes (able
 * to grow to MAX_WASM_BYTES), or null if wasm is unavailable. The memory is
 * shared (a SharedArrayBuffer), so that a worker thread can bind the same
 * kernels to it (see FoldHelper).
 */
export function createWasmKernels(bytes: number): WasmKernels | null {
  const mod = kernelsModule();
  if (!mod || bytes > MAX_WASM_BYTES) return null;
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)), maximum: MAX_WASM_BYTES / PAGE, shared: true });
  const e = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as Omit<WasmKernels, 'memory'>;
  return {
    memory,
    foldSet: e.foldSet,
    foldAdd: e.foldAdd,
    foldSetOut: e.foldSetOut,
    foldAddOut: e.foldAddOut,
    scaleOut: e.scaleOut,
    scan: e.scan,
  };
}
