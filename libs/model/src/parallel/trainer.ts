import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from '@fedxray/protocol';
import { startTsWorker } from '@fedxray/runtime';
import type { BackendChoice } from '../backend';
import { ModelError } from '../errors';
import { ModelSpecSchema, type ModelSpec } from '../spec';
import { Trainer, type BatchResult, type LogitTransform } from '../trainer';
import { namedVariables } from '../weights';
import { accumulateGradients, defaultMicroBatch, splitEvenly } from './accumulate';
import { layoutOf, writeWeights, type SlotLayout } from './layout';
import type { FromWorker, ToWorker } from './messages';

export interface ParallelTrainerOptions {
  /**
   * Worker threads, each with its own tfjs backend and wasm heap; 0 trains in
   * this thread (gradient accumulation only). @default os.availableParallelism()
   */
  workers?: number;
  /** Images per forward/backward pass. @default defaultMicroBatch(imageSize) */
  microBatch?: number;
  /** Backend inside the workers. @default 'wasm' */
  backend?: BackendChoice;
  /** FedProx μ, as in TrainerOptions. @default 0 */
  proximalMu?: number;
  /** The training loss's logit transform, as in TrainerOptions. @default none */
  logitTransform?: LogitTransform;
}

interface WorkerSlot {
  worker: Worker;
  region: Float32Array;
  pending: Map<number, { resolve: (m: Extract<FromWorker, { type: 'done' }>) => void; reject: (e: Error) => void }>;
  failed?: Error;
}

/**
 * Σ kᵢ·partsᵢ / n. For two parts (two workers, the usual case) one pass in
 * float64 with a single rounding to float32.
 */
function sumRegions(parts: Float32Array[], k: number[], n: number): Float32Array {
  const size = parts[0].length;
  const acc = new Float32Array(size);
  if (parts.length === 2) {
    const [a, b] = parts;
    const [ka, kb] = k;
    for (let j = 0; j < size; j++) acc[j] = (ka * a[j] + kb * b[j]) / n;
    return acc;
  }
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    const kp = k[p];
    for (let j = 0; j < size; j++) acc[j] += kp * part[j];
  }
  for (let j = 0; j < size; j++) acc[j] /= n;
  return acc;
}

/**
 * Data-parallel training with gradient accumulation. The model in this thread
 * is the one that learns: its Trainer owns the optimizer. At each batch the
 * weights are copied into a SharedArrayBuffer, every worker takes a contiguous
 * share of the images, runs it in micro-batches on its own tfjs instance and
 * leaves its mean gradients (and its BatchNorm moving statistics) in its own
 * shared region; this thread weights them by the worker's image count, adds
 * them up, applies one optimizer step with the
 * example-weighted mean gradient, and sets each moving statistic to the
 * example-weighted mean of the workers' values.
 */
export class ParallelTrainer {
  private nextId = 1;
  private closed = false;

  private constructor(
    readonly trainer: Trainer,
    readonly microBatch: number,
    private readonly slots: SlotLayout[],
    private readonly weights: Float32Array | null,
    private readonly workers: WorkerSlot[],
    /** tfjs backend each worker runs (empty without workers). */
    readonly workerBackends: string[],
  ) {}

  static async create(model: tf.LayersModel, specIn: ModelSpec, options: ParallelTrainerOptions = {}): Promise<ParallelTrainer> {
    const spec = ModelSpecSchema.parse(specIn);
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 0 || n > 256) throw new ModelError(`Expected workers to be an integer in [0, 256], but got ${options.workers}`);
    const microBatch = options.microBatch ?? defaultMicroBatch(spec.imageSize);
    if (!Number.isInteger(microBatch) || microBatch < 1) throw new ModelError(`Expected microBatch ≥ 1, but got ${options.microBatch}`);
    const trainer = new Trainer(model, spec, { proximalMu: options.proximalMu, logitTransform: options.logitTransform });
    const { slots, floats } = layoutOf(model);
    if (n === 0) return new ParallelTrainer(trainer, microBatch, slots, null, [], []);
    const entry = new URL('./worker.ts', import.meta.url);
    const weights = new SharedArrayBuffer(floats * 4);
    const workers: WorkerSlot[] = [];
    const backends: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: n }, async () => {
          const region = new SharedArrayBuffer(floats * 4);
          const worker = startTsWorker(entry, {
            workerData: { spec, backend: options.backend ?? 'wasm', proximalMu: options.proximalMu ?? 0, logitTransform: options.logitTransform, slots, weights, region },
          });
          const slot: WorkerSlot = { worker, region: new Float32Array(region), pending: new Map() };
          workers.push(slot);
          const backend = await new Promise<string>((resolve, reject) => {
            const fail = (e: Error) => {
              slot.failed = e;
              reject(e);
              for (const p of slot.pending.values()) p.reject(e);
              slot.pending.clear();
            };
            worker.on('message', (m: FromWorker) => {
              if (m.type === 'ready') resolve(m.backend);
              else if (m.type === 'done') {
                slot.pending.get(m.id)?.resolve(m);
                slot.pending.delete(m.id);
              } else {
                const e = new ModelError(`Training worker failed: ${m.message}`);
                if (m.id === -1) fail(e);
                else {
                  slot.pending.get(m.id)?.reject(e);
                  slot.pending.delete(m.id);
                }
              }
            });
            worker.on('error', (e) => fail(e));
            worker.on('exit', (code) => fail(new ModelError(`Training worker exited (code ${code})`)));
          });
          backends.push(backend);
        }),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw err;
    }
    return new ParallelTrainer(trainer, microBatch, slots, new Float32Array(weights), workers, backends);
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** FedProx reference for this thread and every worker. */
  setReference(weights: NamedWeights | null): void {
    this.trainer.setReference(weights);
    for (const w of this.workers) w.worker.postMessage({ type: 'reference', weights } satisfies ToWorker);
  }

  /** One optimizer step on the whole batch. `y` holds class indices. */
  async trainBatch(x: tf.Tensor4D, y: ArrayLike<number>): Promise<BatchResult> {
    if (this.closed) throw new ModelError('This ParallelTrainer is closed');
    const n = x.shape[0];
    if (y.length !== n) throw new ModelError(`Expected ${n} labels for ${n} images, but got ${y.length}`);
    if (n === 0) throw new ModelError('Expected at least one image in the batch');
    if (this.workers.length === 0) return this.trainInThread(x, y);

    const model = this.trainer.model;
    writeWeights(model, this.slots, this.weights!);
    const frozenLayers = model.layers.filter((l) => !l.trainable && l.getClassName() !== 'InputLayer').map((l) => l.name);
    const labels = Int32Array.from(y);
    const pixels = x.dataSync() as Float32Array;
    const per = x.shape[1] * x.shape[2] * x.shape[3];
    const shares = splitEvenly(n, this.workers.length);
    const results = await Promise.all(
      shares.map(([s, e], i) => {
        if (e === s) return null;
        const w = this.workers[i];
        if (w.failed) throw w.failed;
        const id = this.nextId++;
        const msg: ToWorker = {
          type: 'step',
          id,
          x: pixels.slice(s * per, e * per),
          shape: [e - s, x.shape[1], x.shape[2], x.shape[3]],
          y: labels.slice(s, e),
          microBatch: this.microBatch,
          frozenLayers,
        };
        return new Promise<Extract<FromWorker, { type: 'done' }>>((resolve, reject) => {
          w.pending.set(id, { resolve, reject });
          w.worker.postMessage(msg, [msg.x.buffer as ArrayBuffer, msg.y.buffer as ArrayBuffer]);
        });
      }),
    );

    const used = results.map((r, i) => (r ? { r, region: this.workers[i].region } : null)).filter((v) => v !== null);
    const grads = new Map<string, tf.Tensor>();
    const trainable = new Set(namedVariables(model, true).map((v) => v.name));
    // Moving statistics of frozen BatchNorm layers do not move (inference mode): leave them bit for bit.
    const frozen = new Set(frozenLayers);
    const vars = namedVariables(model);
    try {
      this.slots.forEach((s, i) => {
        const isGrad = trainable.has(s.name);
        if (!isGrad && (!s.batchNormStat || frozen.has(s.name.slice(0, s.name.lastIndexOf('/'))))) return;
        const acc = sumRegions(
          used.map(({ region }) => region.subarray(s.offset, s.offset + s.size)),
          used.map(({ r }) => r.count),
          n,
        );
        if (isGrad) grads.set(s.name, tf.tensor(acc, s.shape, 'float32'));
        else {
          const t = tf.tensor(acc, s.shape, 'float32');
          vars[i].variable.write(t);
          t.dispose();
        }
      });
      this.trainer.applyGradients(grads);
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    let loss = 0;
    let correct = 0;
    for (const { r } of used) {
      loss += r.loss;
      correct += r.correct;
    }
    return { loss: loss / n, correct, count: n };
  }

  private trainInThread(x: tf.Tensor4D, y: ArrayLike<number>): BatchResult {
    const r = accumulateGradients((xb, yb) => this.trainer.computeGradients(xb, yb), x, y, this.microBatch);
    try {
      this.trainer.applyGradients(r.grads);
    } finally {
      for (const g of r.grads.values()) g.dispose();
    }
    return { loss: r.loss, correct: r.correct, count: r.count };
  }

  /** Stops the workers and frees the optimizer; the model stays usable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map(async (w) => {
        w.worker.removeAllListeners('exit');
        await w.worker.terminate();
      }),
    );
    this.trainer.dispose();
  }
}
