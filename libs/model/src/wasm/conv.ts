import * as tf from '@tensorflow/tfjs';
import { backend_util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelsFor, ptr, withScratch, type TrainingKernelsExports, type WasmBackendLike } from './module';
import { stockKernel, stockSetup } from './stock';

type Conv2DInfo = backend_util.Conv2DInfo;
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;

function convArgs(info: Conv2DInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function channelsLast(dataFormat: string | undefined, kernel: string): 'channelsLast' {
  const f = backend_util.convertConv2DDataFormat((dataFormat ?? 'NHWC') as 'NHWC' | 'NCHW');
  if (f !== 'channelsLast') throw new Error(`${kernel} on wasm expects dataFormat 'NHWC', but got '${dataFormat}'`);
  return f;
}

type Shape4 = [number, number, number, number];

/** The convolution's geometry (channels-last only) for one of the gradient kernels. */
function convInfo(
  xShape: Shape4,
  filterShape: Shape4,
  attrs: {
    strides: [number, number] | number;
    pad: Pad;
    dataFormat?: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    dilations?: [number, number] | number;
  },
  kernel: string,
): Conv2DInfo {
  const fmt = channelsLast(attrs.dataFormat, kernel);
  return backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, false, fmt);
}

/** Runs a gradient kernel with the scratch it needs for this geometry. */
function withConvScratch(backend: WasmBackendLike, info: Conv2DInfo, f: (k: TrainingKernelsExports, scratch: number) => void): void {
  const k = kernelsFor(backend);
  const floats = k.conv_scratch_floats(info.filterHeight, info.filterWidth, info.inChannels, info.outChannels);
  withScratch(backend, floats, (s) => f(k, s));
}

interface FilterGradAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Conv2DBackpropFilter: dW from the input x and the output gradient dy. */
function conv2dBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: unknown; attrs: FilterGradAttrs }): TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as WasmBackendLike;
  const { x, dy } = inputs;
  const info = convInfo(x.shape as Shape4, attrs.filterShape, attrs, 'Conv2DBackpropFilter');
  const out = backend.makeOutput(attrs.filterShape.slice(), 'float32');
  withConvScratch(backend, info, (k, s) => k.conv2d_filter_grad(ptr(backend, x), ptr(backend, dy), ptr(backend, out), s, ...convArgs(info)));
  return out;
}

interface ForwardAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

/**
 * The forward convolution as im2col rows times the filter (`conv2d_forward`
 * in kernels.c); a 1x1, stride-1 convolution is one matrix product. It runs
 * faster here than the stock XNNPACK kernel, and faster again in the
 * relaxed-SIMD build (docs/BENCHMARKS.md). What it does not cover (NCHW, a bias,
 * an activation, another dtype) goes to the stock kernel.
 */
function conv2dForward(name: 'Conv2D' | 'FusedConv2D') {
  return (args: { inputs: { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo }; backend: unknown; attrs: ForwardAttrs }): TensorInfo => {
    const { inputs, attrs } = args;
    const backend = args.backend as WasmBackendLike;
    const { x, filter } = inputs;
    const plain =
      (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
      inputs.bias == null &&
      inputs.preluActivationWeights == null &&
      (attrs.activation ?? 'linear') === 'linear' &&
      x.dtype === 'float32' &&
      filter.dtype === 'float32';
    if (!plain) return stockKernel(name, args) as TensorInfo;
    const info = convInfo(x.shape as Shape4, filter.shape as Shape4, attrs, name);
    const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
    if (info.batchSize * info.outHeight * info.outWidth * info.outChannels === 0) return out;
    withConvScratch(backend, info, (k, s) => k.conv2d_forward(ptr(backend, x), ptr(backend, filter), ptr(backend, out), s, ...convArgs(info)));
    return out;
  };
}

/**
 * A stride-1 input gradient is a forward convolution of dy with the filter
 * flipped in space and transposed in channels, padded by (k − 1 − pad), which
 * the forward Conv2D registered on wasm runs faster than the generic kernel.
 * Returns null where that does not apply.
 */
function forwardConvInputGrad(
  backend: WasmBackendLike,
  dy: TensorInfo,
  filter: TensorInfo,
  info: Conv2DInfo,
): TensorInfo | null {
  const conv = tf.getKernel('Conv2D', 'wasm');
  if (!conv || info.strideHeight !== 1 || info.strideWidth !== 1 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const p = info.padInfo;
  const pad: backend_util.ExplicitPadding = [
    [0, 0],
    [kh - 1 - p.top, kh - 1 - p.bottom],
    [kw - 1 - p.left, kw - 1 - p.right],
    [0, 0],
  ];
  if (pad.some(([a, b]) => a < 0 || b < 0)) return null;
  const k = kernelsFor(backend);
  const flipped = backend.makeOutput([kh, kw, co, ci], 'float32');
  try {
    k.flip_transpose_filter(ptr(backend, filter), ptr(backend, flipped), kh, kw, ci, co);
    return conv.kernelFunc({
      inputs: { x: dy, filter: flipped },
      backend: backend as unknown as tf.KernelBackend,
      attrs: { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 },
    }) as TensorInfo;
  } finally {
    backend.disposeData(flipped.dataId);
  }
}

interface InputGradAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** Conv2DBackpropInput: dx from the output gradient dy and the filter. */
function conv2dBackpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: unknown; attrs: InputGradAttrs }): TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as WasmBackendLike;
  const { dy, filter } = inputs;
  const info = convInfo(attrs.inputShape, filter.shape as Shape4, attrs, 'Conv2DBackpropInput');
  const viaForward = forwardConvInputGrad(backend, dy, filter, info);
  if (viaForward) return viaForward;
  const out = backend.makeOutput(attrs.inputShape.slice(), 'float32');
  withConvScratch(backend, info, (k, s) => k.conv2d_input_grad(ptr(backend, dy), ptr(backend, filter), ptr(backend, out), s, ...convArgs(info)));
  return out;
}

export const conv2dConfig: KernelConfig = {
  kernelName: 'Conv2D',
  backendName: 'wasm',
  kernelFunc: conv2dForward('Conv2D') as unknown as KernelFunc,
  setupFunc: stockSetup('Conv2D'),
};

export const fusedConv2dConfig: KernelConfig = {
  kernelName: 'FusedConv2D',
  backendName: 'wasm',
  kernelFunc: conv2dForward('FusedConv2D') as unknown as KernelFunc,
  setupFunc: stockSetup('FusedConv2D'),
};

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
