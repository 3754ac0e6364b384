import * as tf from '@tensorflow/tfjs';

/**
 * Faster versions of the tfjs `cpu` backend kernels a DenseNet training step
 * spends its time in. The stock ones read elements through `TensorBuffer.get`
 * or per-element index arithmetic (its Conv2DBackpropFilter alone is ~99% of a
 * step); these walk flat typed arrays. Each handles the common float32,
 * channels-last case and hands anything else to the stock kernel, and each is
 * checked against the stock kernel in cpu-kernels.test.ts.
 */
type KernelArgs = Parameters<tf.KernelFunc>[0];
type Fast = (args: KernelArgs, backend: CpuBackend) => tf.TensorInfo | tf.TensorInfo[] | null;
interface CpuBackend {
  data: { get(id: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

const stock = new Map<string, tf.KernelFunc>();
let registered = false;

function values(b: CpuBackend, t: tf.TensorInfo): Float32Array {
  return b.data.get(t.dataId).values as Float32Array;
}

function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const conv2DBackpropFilter: Fast = (args, backend) => {
  const x = args.inputs.x as tf.TensorInfo;
  const dy = args.inputs.dy as tf.TensorInfo;
  const a = args.attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } =
    info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = values(backend, x);
  const dyv = values(backend, dy);
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const rowStride = inChannels * outChannels;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let fr = 0; fr < filterHeight; fr++) {
          const xR = yR * strideHeight - top + fr;
          if (xR < 0 || xR >= inHeight) continue;
          for (let fc = 0; fc < filterWidth; fc++) {
            const xC = yC * strideWidth - left + fc;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wOff = (fr * filterWidth + fc) * rowStride;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xd = xv[xOff + d1];
              if (xd === 0) continue; // post-ReLU inputs are half zeros
              const wo = wOff + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) acc[wo + d2] += xd * dyv[dyOff + d2];
            }
          }
        }
      }
    }
  }
  return backend.makeTensorInfo([...info.filterShape], 'float32', Float32Array.from(acc));
};

/** Sum/Mean over leading axes [0..k) of a float32 tensor, without the stock transpose. */
function reduceLeading(mean: boolean): Fast {
  return (args, backend) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32') return null;
    const rank = x.shape.length;
    const axes = (Array.isArray(axis) ? axis : [axis]).map((d) => (d < 0 ? d + rank : d)).sort((p, q) => p - q);
    if (axes.length === 0 || axes.some((d, i) => d !== i) || axes.length === rank) return null;
    const k = axes.length;
    const outer = size(x.shape.slice(0, k));
    const inner = size(x.shape.slice(k));
    const xv = values(backend, x);
    const acc = new Float64Array(inner);
    for (let o = 0; o < outer; o++) {
      const off = o * inner;
      for (let j = 0; j < inner; j++) acc[j] += xv[off + j];
    }
    const res = new Float32Array(inner);
    for (let j = 0; j < inner; j++) res[j] = mean ? acc[j] / outer : acc[j];
    const shape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    return backend.makeTensorInfo(shape, 'float32', res);
  };
}

/** Copies a float32 box out of `x`, innermost runs at a time. */
function sliceBox(xv: Float32Array, shape: readonly number[], begin: readonly number[], sz: readonly number[]): Float32Array {
  const rank = shape.length;
  const out = new Float32Array(size(sz));
  if (out.length === 0) return out;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const run = sz[rank - 1];
  const idx = new Array<number>(rank - 1).fill(0);
  let o = 0;
  for (;;) {
    let off = begin[rank - 1];
    for (let i = 0; i < rank - 1; i++) off += (begin[i] + idx[i]) * strides[i];
    out.set(xv.subarray(off, off + run), o);
    o += run;
    let d = rank - 2;
    while (d >= 0) {
      idx[d]++;
      if (idx[d] < sz[d]) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
  return out;
}

const slice: Fast = (args, backend) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length < 2) return null;
  const { begin, size: sz } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, sz);
  return backend.makeTensorInfo(s, 'float32', sliceBox(values(backend, x), x.shape, b, s));
};

const splitV: Fast = (args, backend) => {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length < 2) return null;
  const { numOrSizeSplits, axis } = args.attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const ax = axis < 0 ? axis + x.shape.length : axis;
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
  const xv = values(backend, x);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const sz = [...x.shape];
    sz[ax] = n;
    const t = backend.makeTensorInfo(sz, 'float32', sliceBox(xv, x.shape, begin, sz));
    begin[ax] += n;
    return t;
  });
};

const maxPoolGrad: Fast = (args, backend) => {
  const dy = args.inputs.dy as tf.TensorInfo;
  const x = args.inputs.input as tf.TensorInfo;
  const a = args.attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const xv = values(backend, x);
  const dyv = values(backend, dy);
  const dx = new Float32Array(xv.length);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const r0 = yR * strideHeight - top;
      for (let yC = 0; yC < outWidth; yC++) {
        const c0 = yC * strideWidth - left;
        const dyOff = ((b * outHeight + yR) * outWidth + yC) * ch;
        for (let d = 0; d < ch; d++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let fr = 0; fr < filterHeight; fr++) {
            const xR = r0 + fr;
            if (xR < 0 || xR >= inHeight) continue;
            for (let fc = 0; fc < filterWidth; fc++) {
              const xC = c0 + fc;
              if (xC < 0 || xC >= inWidth) continue;
              const i = ((b * inHeight + xR) * inWidth + xC) * ch + d;
              if (xv[i] > best) {
                best = xv[i];
                at = i;
              }
            }
          }
          if (at >= 0) dx[at] += dyv[dyOff + d];
        }
      }
    }
  }
  return backend.makeTensorInfo([...x.shape], 'float32', dx);
};

const tile: Fast = (args, backend) => {
  const x = args.inputs.x as tf.TensorInfo;
  const { reps } = args.attrs as unknown as { reps: number[] };
  const rank = x.shape.length;
  if (x.dtype !== 'float32' || rank < 1 || reps.length !== rank) return null;
  const shape = x.shape;
  const out = shape.map((d, i) => d * reps[i]);
  const xv = values(backend, x);
  const res = new Float32Array(size(out));
  if (res.length === 0) return backend.makeTensorInfo(out, 'float32', res);
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  const row = shape[rank - 1];
  const idx = new Array<number>(Math.max(0, rank - 1)).fill(0);
  let o = 0;
  for (;;) {
    let off = 0;
    for (let i = 0; i < rank - 1; i++) off += (idx[i] % shape[i]) * strides[i];
    const src = xv.subarray(off, off + row);
    for (let r = 0; r < reps[rank - 1]; r++, o += row) res.set(src, o);
    let d = rank - 2;
    while (d >= 0) {
      idx[d]++;
      if (idx[d] < out[d]) break;
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
  return backend.makeTensorInfo(out, 'float32', res);
};

const FAST: Record<string, Fast> = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  Tile: tile,
  Sum: reduceLeading(false),
  Mean: reduceLeading(true),
  Slice: slice,
  SplitV: splitV,
  MaxPoolGrad: maxPoolGrad,
};

/** Installs the fast cpu kernels in front of the stock ones (idempotent). */
export function registerCpuTrainingKernels(): void {
  if (registered) return;
  for (const [name, fast] of Object.entries(FAST)) {
    const config = tf.getKernel(name, 'cpu');
    if (!config) continue;
    const original = config.kernelFunc;
    stock.set(name, original);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({
      kernelName: name,
      backendName: 'cpu',
      kernelFunc: (args) => fast(args, args.backend as unknown as CpuBackend) ?? original(args),
    });
  }
  registered = true;
}

/** Puts the stock kernels back (tests compare against them). */
export function unregisterCpuTrainingKernels(): void {
  if (!registered) return;
  for (const [name, original] of stock) {
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: original });
  }
  stock.clear();
  registered = false;
}
