import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelsFor, ptr, type WasmBackendLike } from './module';
import { stockKernel, stockSetup } from './stock';

/**
 * Slice, SplitV and Concat that copy rows inside the wasm heap (`copy_rows` in
 * kernels.c). The stock wasm Slice reads the whole input out of the heap into
 * a fresh JavaScript array for every slice, and SplitV (the gradient of every
 * DenseNet concatenation) slices once per part; the stock Concat copies row by
 * row from JavaScript. Tensors of other than 4-byte types, and slices of rank
 * above 4, go to the stock kernels.
 */
const FOUR_BYTES = new Set(['float32', 'int32']);
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function sliceInHeap(backend: WasmBackendLike, x: TensorInfo, begin: number[], sz: number[]): TensorInfo {
  const out = backend.makeOutput(sz, x.dtype as 'float32');
  const n = size(sz);
  if (n === 0) return out;
  const k = kernelsFor(backend);
  const src = ptr(backend, x);
  const dst = ptr(backend, out);
  if (tf.slice_util.isSliceContinous(x.shape, begin, sz)) {
    const strides = tf.util.computeStrides(x.shape);
    k.copy_rows(src + tf.slice_util.computeFlatOffset(begin, strides) * 4, 0, dst, 0, 1, n);
    return out;
  }
  // as rank 4: [d0, d1, d2, d3]
  const pad = 4 - x.shape.length;
  const X = [...Array<number>(pad).fill(1), ...x.shape];
  const b = [...Array<number>(pad).fill(0), ...begin];
  const s = [...Array<number>(pad).fill(1), ...sz];
  const at = (i: number, j: number, l: number) => src + (((i * X[1] + j) * X[2] + l) * X[3] + b[3]) * 4;
  if (b[1] === 0 && s[1] === X[1] && b[2] === 0 && s[2] === X[2]) {
    // whole middle axes: one run of rows per outer index
    for (let i = 0; i < s[0]; i++) k.copy_rows(at(b[0] + i, 0, 0), X[3], dst + i * s[1] * s[2] * s[3] * 4, s[3], s[1] * s[2], s[3]);
    return out;
  }
  for (let i = 0; i < s[0]; i++) {
    for (let j = 0; j < s[1]; j++) {
      k.copy_rows(at(b[0] + i, b[1] + j, b[2]), X[3], dst + (i * s[1] + j) * s[2] * s[3] * 4, s[3], s[2], s[3]);
    }
  }
  return out;
}

function slice(args: { inputs: { x: TensorInfo }; attrs: { begin: number | number[]; size: number | number[] }; backend: unknown }): TensorInfo {
  const { x } = args.inputs;
  if (!FOUR_BYTES.has(x.dtype) || x.shape.length > 4) return stockKernel('Slice', args) as TensorInfo;
  const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as unknown as tf.Tensor, args.attrs.begin, args.attrs.size);
  return sliceInHeap(args.backend as WasmBackendLike, x, begin, sz);
}

function splitV(args: { inputs: { x: TensorInfo }; attrs: { numOrSizeSplits: number | number[]; axis: number }; backend: unknown }): TensorInfo[] {
  const { x } = args.inputs;
  if (!FOUR_BYTES.has(x.dtype) || x.shape.length > 4) return stockKernel('SplitV', args) as TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs.axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs.numOrSizeSplits, axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((part) => {
    const sz = x.shape.slice();
    sz[axis] = part;
    const t = sliceInHeap(args.backend as WasmBackendLike, x, begin.slice(), sz);
    begin[axis] += part;
    return t;
  });
}

function concat(args: { inputs: TensorInfo[]; attrs: { axis: number | number[] }; backend: unknown }): TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const inputs = args.inputs;
  const dtype = inputs[0].dtype;
  const parts = inputs.filter((t) => size(t.shape) > 0);
  if (!FOUR_BYTES.has(dtype) || parts.length < 2 || inputs.some((t) => t.dtype !== dtype)) return stockKernel('Concat', args) as TensorInfo;
  const axis = tf.util.parseAxisParam(args.attrs.axis, inputs[0].shape)[0];
  tf.backend_util.assertParamsConsistent(
    inputs.map((t) => t.shape),
    axis,
  );
  const outShape = tf.backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  const out = backend.makeOutput(outShape, dtype as 'float32');
  const rows = size(parts[0].shape.slice(0, axis));
  const inner = parts.map((t) => size(t.shape.slice(axis)));
  const total = inner.reduce((a, c) => a + c, 0);
  const k = kernelsFor(backend);
  const dst = ptr(backend, out);
  let offset = 0;
  parts.forEach((t, i) => {
    k.copy_rows(ptr(backend, t), inner[i], dst + offset * 4, total, rows, inner[i]);
    offset += inner[i];
  });
  return out;
}

export const sliceConfig: KernelConfig = { kernelName: 'Slice', backendName: 'wasm', kernelFunc: slice as unknown as KernelFunc, setupFunc: stockSetup('Slice') };
export const splitVConfig: KernelConfig = { kernelName: 'SplitV', backendName: 'wasm', kernelFunc: splitV as unknown as KernelFunc, setupFunc: stockSetup('SplitV') };
export const concatConfig: KernelConfig = { kernelName: 'Concat', backendName: 'wasm', kernelFunc: concat as unknown as KernelFunc, setupFunc: stockSetup('Concat') };
