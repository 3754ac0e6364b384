import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../backend';
import { buildModel } from '../densenet';
import { ModelError } from '../errors';
import { ModelSpecSchema, type Arch } from '../spec';
import { wasmTrainingKernelsRegistered } from '../wasm/register';
import { kernelsVariant } from '../wasm/module';
import { ParallelTrainer } from './trainer';

export interface TrainBenchOptions {
  arch: Arch;
  imageSize: number;
  batch: number;
  backend: BackendChoice;
  /** Worker threads; default: every core for wasm/cpu, 0 for the native backends (they use all cores themselves). */
  workers?: number;
  microBatch?: number;
  /** Timed steps after warm-up. @default 5 */
  steps?: number;
  /** Untimed steps first (memory growth, first-call compilation). @default 2 */
  warmup?: number;
  classes?: number;
  seed?: number;
}

export interface TrainBenchResult {
  backend: string;
  arch: Arch;
  imageSize: number;
  batch: number;
  /** Batch size over the median step time. */
  imagesPerSecond: number;
  medianStepSeconds: number;
  stepSeconds: number[];
  /**
   * CPU time of this process (all its threads) per step, median. Independent of
   * other load on the machine: batch / this is what the cores it used deliver.
   */
  medianStepCpuSeconds: number;
  workers: number;
  workerBackends: string[];
  microBatch: number;
  customKernels: boolean;
  /** Which build of the training kernels ran: with relaxed SIMD's fused multiply-add, or plain SIMD128. */
  kernelSimd: 'relaxed-simd' | 'simd128' | null;
  warmup: number;
  cores: number;
  /** 1-minute load average before and after: other work on the machine slows every figure. */
  loadAverage: [number, number];
}

/** The middle of `xs` (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times full training steps (forward, loss, backward, optimizer) of a
 * DenseNet with the study's head on random images: the median of `steps`
 * steps after `warmup` untimed ones.
 */
export async function benchTrain(o: TrainBenchOptions): Promise<TrainBenchResult> {
  const steps = o.steps ?? 5;
  const warmup = o.warmup ?? 2;
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new ModelError(`Expected batch ≥ 1, but got ${o.batch}`);
  if (!Number.isInteger(steps) || steps < 1) throw new ModelError(`Expected steps ≥ 1, but got ${o.steps}`);
  const load0 = loadavg()[0];
  const { backend, choice } = await initBackend(o.backend);
  const classes = o.classes ?? 4;
  const spec = ModelSpecSchema.parse({
    arch: o.arch,
    imageSize: o.imageSize,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
  });
  const model = buildModel(spec, { seed: o.seed ?? 1 });
  const native = backend === 'tensorflow';
  const workers = o.workers ?? (native ? 0 : availableParallelism());
  const trainer = await ParallelTrainer.create(model, spec, {
    workers,
    microBatch: o.microBatch,
    backend: workers > 0 ? choice : undefined,
  });
  const x = tf.randomUniform([o.batch, o.imageSize, o.imageSize, 3], 0, 1, 'float32', o.seed ?? 1) as tf.Tensor4D;
  const y = Array.from({ length: o.batch }, (_, i) => i % classes);
  const times: number[] = [];
  const cpu: number[] = [];
  try {
    for (let i = 0; i < warmup + steps; i++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await trainer.trainBatch(x, y);
      const s = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      if (i >= warmup) {
        times.push(s);
        cpu.push((c.user + c.system) / 1e6);
      }
    }
  } finally {
    x.dispose();
    await trainer.close();
    model.dispose();
  }
  const med = median(times);
  return {
    backend,
    arch: o.arch,
    imageSize: o.imageSize,
    batch: o.batch,
    imagesPerSecond: o.batch / med,
    medianStepSeconds: med,
    stepSeconds: times,
    medianStepCpuSeconds: median(cpu),
    workers: trainer.workerCount,
    workerBackends: trainer.workerBackends,
    microBatch: Math.min(trainer.microBatch, o.batch),
    customKernels: backend === 'wasm' && wasmTrainingKernelsRegistered(),
    kernelSimd: backend === 'wasm' ? kernelsVariant() : null,
    warmup,
    cores: availableParallelism(),
    loadAverage: [load0, loadavg()[0]],
  };
}
