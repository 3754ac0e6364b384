import * as tf from '@tensorflow/tfjs';

/**
 * Training kernels for tfjs' `cpu` backend where its own are too slow to train
 * even the small DenseNets: its Conv2DBackpropFilter reads every element through
 * `TensorBuffer.get`, ~99% of a training step. This one walks the same sum with
 * flat typed-array indexing; results equal the stock kernel's to float rounding
 * (checked in cpu-kernels.test.ts). Channels-last only; other layouts go to the
 * stock kernel.
 */
type KernelArgs = Parameters<tf.KernelFunc>[0];
interface CpuBackend {
  data: { get(id: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

let stockFilterGrad: tf.KernelFunc | undefined;
let registered = false;

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as unknown as CpuBackend;
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const a = attrs as unknown as {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') return stockFilterGrad!(args) as tf.TensorInfo;
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
  const xv = backend.data.get(x.dataId).values as Float32Array;
  const dyv = backend.data.get(dy.dataId).values as Float32Array;
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
}

/** Replaces the cpu backend's Conv2DBackpropFilter with the fast one (idempotent). */
export function registerCpuTrainingKernels(): void {
  if (registered) return;
  const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!stock) return; // cpu backend not loaded in this bundle
  stockFilterGrad = stock.kernelFunc;
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: conv2DBackpropFilter });
  registered = true;
}

/** Puts the stock kernel back (for tests that compare against it). */
export function unregisterCpuTrainingKernels(): void {
  if (!registered || !stockFilterGrad) return;
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: stockFilterGrad });
  registered = false;
}
