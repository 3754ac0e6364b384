import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { TensorInfo } from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's `BackendWasm` the training kernels use. */
export interface WasmBackendLike {
  wasm: {
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    asm: Record<string, unknown>;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Exports of kernels.wasm (see kernels.c); pointers are byte offsets into the tfjs heap. */
export interface TrainingKernelsExports {
  conv_scratch_floats(kh: number, kw: number, c: number, co: number): number;
  conv2d_filter_grad(...args: number[]): void;
  conv2d_input_grad(...args: number[]): void;
  conv2d_forward(...args: number[]): void;
  bn_train_forward(...args: number[]): void;
  bn_train_backward(...args: number[]): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  flip_transpose_filter(w: number, out: number, kh: number, kw: number, ci: number, co: number): void;
  max_pool_grad(...args: number[]): void;
  copy_rows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, len: number): void;
  adam_step(...args: number[]): void;
}

const STACK_BYTES = 64 * 1024;
let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<object, TrainingKernelsExports>();

let variant: 'relaxed-simd' | 'simd128' | undefined;

/**
 * Whether the runtime takes relaxed-SIMD modules, switching V8's flag on where
 * it still needs one (Node 20 and 21; it is on by default from Node 22).
 */
function relaxedSimdAccepted(bytes: Buffer<ArrayBuffer>): boolean {
  if (WebAssembly.validate(bytes)) return true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(bytes);
}

/**
 * The compiled kernels: the relaxed-SIMD build (fused multiply-add in the
 * matrix products) where the runtime accepts it, else plain SIMD128.
 * FEDXRAY_RELAXED_SIMD=0 forces the plain build.
 */
function wasmModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const relaxed = process.env.FEDXRAY_RELAXED_SIMD === '0' ? null : readFileSync(new URL('./kernels-relaxed.wasm', import.meta.url));
  if (relaxed && relaxedSimdAccepted(relaxed)) {
    compiled = new WebAssembly.Module(relaxed);
    variant = 'relaxed-simd';
  } else {
    compiled = new WebAssembly.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
    variant = 'simd128';
  }
  return compiled;
}

/** Which build of the training kernels this process runs. */
export function kernelsVariant(): 'relaxed-simd' | 'simd128' {
  wasmModule();
  return variant!;
}

/**
 * The training kernels instantiated on a wasm backend's own memory, once per
 * backend instance. Throws if the backend does not expose its memory.
 */
export function kernelsFor(backend: WasmBackendLike): TrainingKernelsExports {
  const cached = instances.get(backend);
  if (cached) return cached;
  const memory = Object.values(backend.wasm.asm).find((v): v is WebAssembly.Memory => v instanceof WebAssembly.Memory);
  if (!memory) throw new Error('Expected the tfjs wasm backend to export its WebAssembly.Memory, but found none');
  const instance = new WebAssembly.Instance(wasmModule(), { env: { memory } });
  // The module keeps no data of its own; give its (unused today) shadow stack a
  // region of the tfjs heap so that a future spill can never touch a tensor.
  const stack = backend.wasm._malloc(STACK_BYTES);
  (instance.exports.__stack_pointer as WebAssembly.Global).value = stack + STACK_BYTES;
  const exp = instance.exports as unknown as TrainingKernelsExports;
  instances.set(backend, exp);
  return exp;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function ptr(backend: WasmBackendLike, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('Expected a tensor that lives on the wasm backend, but its data was not found there');
  return d.memoryOffset;
}

/** Runs `f` with a scratch buffer of `floats` float32 values on the wasm heap. */
export function withScratch<T>(backend: WasmBackendLike, floats: number, f: (p: number) => T): T {
  const p = backend.wasm._malloc(Math.max(16, floats * 4));
  try {
    return f(p);
  } finally {
    backend.wasm._free(p);
  }
}
