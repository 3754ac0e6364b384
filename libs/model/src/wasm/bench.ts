import * as tf from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { median } from '../parallel/bench';
import { kernelsVariant } from './module';
import { registerWasmTrainingKernels } from './register';
import { stockKernel } from './stock';

/** One convolution of DenseNet-121 at 224×224: input side, channels in and out, kernel, stride. */
export interface ConvShape {
  size: number;
  channels: number;
  filters: number;
  kernel: number;
  stride: number;
}

/**
 * DenseNet-121's convolution kinds at 224×224: the stem, bottleneck 1×1
 * convolutions at the start and end of each dense block, and the 3×3 growth
 * convolutions (128 → 32), with the 32 → 128 one that their input gradient runs.
 */
export const DENSENET121_CONVS: readonly ConvShape[] = [
  { size: 224, channels: 3, filters: 64, kernel: 7, stride: 2 },
  { size: 56, channels: 64, filters: 128, kernel: 1, stride: 1 },
  { size: 56, channels: 256, filters: 128, kernel: 1, stride: 1 },
  { size: 28, channels: 128, filters: 128, kernel: 1, stride: 1 },
  { size: 28, channels: 512, filters: 128, kernel: 1, stride: 1 },
  { size: 14, channels: 256, filters: 128, kernel: 1, stride: 1 },
  { size: 14, channels: 1024, filters: 128, kernel: 1, stride: 1 },
  { size: 7, channels: 1024, filters: 128, kernel: 1, stride: 1 },
  { size: 56, channels: 128, filters: 32, kernel: 3, stride: 1 },
  { size: 56, channels: 32, filters: 128, kernel: 3, stride: 1 },
  { size: 28, channels: 128, filters: 32, kernel: 3, stride: 1 },
  { size: 14, channels: 128, filters: 32, kernel: 3, stride: 1 },
  { size: 7, channels: 128, filters: 32, kernel: 3, stride: 1 },
];

export interface ConvBenchRow extends ConvShape {
  /** Multiply-adds × 2 of one forward pass over the batch, in millions. */
  mflop: number;
  /** Median milliseconds: our forward kernel, tfjs-wasm's stock (XNNPACK) one, our filter gradient. */
  forwardMs: number;
  stockForwardMs: number;
  filterGradMs: number;
  /** Largest |ours − stock| over the largest |stock| of the forward output. */
  maxRelDiff: number;
}

export interface ConvBenchResult {
  batch: number;
  repeats: number;
  kernelSimd: 'relaxed-simd' | 'simd128';
  rows: ConvBenchRow[];
  /** Sums over the rows. */
  forwardMs: number;
  stockForwardMs: number;
  filterGradMs: number;
}

/** Median wall time of `f` over `repeats` calls after one untimed call; `f` disposes what it makes. */
function time(repeats: number, f: () => void): number {
  f();
  const ts: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

/**
 * Times the wasm training kernels' convolutions against tfjs-wasm's stock
 * forward kernel on DenseNet-121's shapes, in one process, on random inputs.
 */
export async function benchConv(o: { batch: number; repeats: number; shapes?: readonly ConvShape[] }): Promise<ConvBenchResult> {
  await initBackend('wasm');
  registerWasmTrainingKernels();
  const backend = tf.backend();
  const rows: ConvBenchRow[] = [];
  for (const shape of o.shapes ?? DENSENET121_CONVS) {
    const { size, channels, filters, kernel, stride } = shape;
    const x = tf.randomNormal([o.batch, size, size, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([kernel, kernel, channels, filters], 0, 1, 'float32', 2) as tf.Tensor4D;
    const ours = () => tf.conv2d(x, w, stride, 'same');
    const stockArgs = { inputs: { x, filter: w }, backend, attrs: { strides: stride, pad: 'same', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } };
    const stock = () => tf.engine().makeTensorFromTensorInfo(stockKernel('Conv2D', stockArgs) as TensorInfo);
    const y = ours();
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const filterGrad = () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: [kernel, kernel, channels, filters] }) as tf.Tensor;
    const maxRelDiff = tf.tidy(() => {
      const ref = stock();
      return tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0] / Math.max(1e-12, tf.max(tf.abs(ref)).dataSync()[0]);
    });
    rows.push({
      ...shape,
      mflop: (2 * o.batch * y.shape[1]! * y.shape[2]! * kernel * kernel * channels * filters) / 1e6,
      forwardMs: time(o.repeats, () => ours().dispose()),
      stockForwardMs: time(o.repeats, () => stock().dispose()),
      filterGradMs: time(o.repeats, () => filterGrad().dispose()),
      maxRelDiff,
    });
    tf.dispose([x, w, y, dy]);
  }
  const sum = (k: 'forwardMs' | 'stockForwardMs' | 'filterGradMs') => rows.reduce((a, r) => a + r[k], 0);
  return {
    batch: o.batch,
    repeats: o.repeats,
    kernelSimd: kernelsVariant(),
    rows,
    forwardMs: sum('forwardMs'),
    stockForwardMs: sum('stockForwardMs'),
    filterGradMs: sum('filterGradMs'),
  };
}
