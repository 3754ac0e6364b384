import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '@fedxray/runtime';
import { batches, planEpoch } from './batches';
import type { Batch, BatchOptions, BatchStats, BatchStream } from './batches';
import { DataError } from './errors';
import type { DataItem } from './scan';

export interface ParallelBatchOptions extends BatchOptions {
  /** Worker threads decoding and augmenting (default 1 = in this thread, as `batches`). */
  workers?: number;
}

interface BatchMessage {
  type: 'batch';
  id: number;
  b: number;
  x: Float32Array;
  labels: Int32Array;
  n: number;
  skipped: { path: string; reason: string }[];
  skippedExamples: number;
}
type WorkerMessage = BatchMessage | { type: 'error'; id: number; message: string };


/**
 * Worker threads that decode and augment for `batches()`-identical streams. Start one pool and
 * reuse it for every epoch (a worker costs a second or so to start); `close()` it at the end.
 *
 * Worker k of W decodes batches k, k + W, … of the epoch's plan and transfers them (no copy);
 * the stream hands them out in order. The output equals `batches()` with the same options
 * (every random choice is fixed by seed, epoch and position), and memory stays bounded: each
 * worker holds at most 2 × (prefetch + 1) batches. A custom `decode` cannot cross into workers.
 */
export class BatchWorkerPool {
  private readonly workers: Worker[];
  private readonly listeners = new Map<number, { onMessage(m: WorkerMessage): void; onFailure(e: Error): void }>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;
  private readonly ready: Promise<unknown>;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new DataError(`Expected a positive number of workers, but got ${size}`);
    // libvips stays loaded in this thread, so a worker exiting never unloads it under the others.
    this.ready = import('sharp');
    this.workers = Array.from({ length: size }, (_, index) => {
      const w = startTsWorker(new URL('./batch-worker.ts', import.meta.url));
      w.on('message', (m: WorkerMessage) => this.listeners.get(m.id)?.onMessage(m));
      w.on('error', (e) => this.fail(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new DataError(`batch worker ${index} exited with code ${code}`));
      });
      return w;
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const l of this.listeners.values()) l.onFailure(this.failure);
  }

  batches(items: DataItem[], options: BatchOptions): BatchStream {
    if (options.decode) throw new DataError('Expected no custom decode with worker threads: functions cannot be sent to them');
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new DataError(`Expected batchSize to be a positive integer, but got ${options.batchSize}`);
    if (this.closed) throw new DataError('This worker pool is closed');
    const plan = planEpoch(items, options);
    const total = Math.ceil(plan.length / options.batchSize);
    const stats: BatchStats = { examples: 0, batches: 0, skipped: [], skippedExamples: 0 };
    const channels = options.channels ?? 3;
    const { workers: _w, ...rest } = options as ParallelBatchOptions;
    return {
      stats,
      plan,
      [Symbol.asyncIterator]: () => this.iterate(items, rest, total, stats, options.imageSize, channels),
    };
  }

  private async *iterate(items: DataItem[], options: BatchOptions, total: number, stats: BatchStats, imageSize: number, channels: number): AsyncGenerator<Batch> {
    await this.ready;
    const id = this.nextId++;
    const count = Math.min(this.size, Math.max(1, total));
    const arrived = new Map<number, BatchMessage>();
    let waiting: { b: number; resolve: (m: BatchMessage) => void; reject: (e: Error) => void } | null = null;
    let failure: Error | null = this.failure;
    const onFailure = (e: Error) => {
      failure ??= e;
      waiting?.reject(failure);
      waiting = null;
    };
    this.listeners.set(id, {
      onMessage(m) {
        if (m.type === 'error') return onFailure(new DataError(`batch worker: ${m.message}`));
        if (waiting && waiting.b === m.b) {
          const r = waiting.resolve;
          waiting = null;
          r(m);
        } else arrived.set(m.b, m);
      },
      onFailure,
    });
    for (let index = 0; index < count; index++) this.workers[index].postMessage({ type: 'run', id, items, options, index, count });
    const seen = new Set<string>();
    try {
      for (let b = 0; b < total; b++) {
        if (failure) throw failure;
        const m =
          arrived.get(b) ??
          (await new Promise<BatchMessage>((resolve, reject) => {
            waiting = { b, resolve, reject };
          }));
        arrived.delete(b);
        this.workers[b % count].postMessage({ type: 'credit', id });
        for (const s of m.skipped) {
          if (seen.has(s.path)) continue;
          seen.add(s.path);
          stats.skipped.push(s);
        }
        stats.skippedExamples += m.skippedExamples;
        if (m.n === 0) continue;
        stats.examples += m.n;
        stats.batches++;
        yield { x: m.x, labels: m.labels, n: m.n, imageSize, channels };
      }
    } finally {
      this.listeners.delete(id);
      if (!this.closed) for (let index = 0; index < count; index++) this.workers[index].postMessage({ type: 'cancel', id });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * One stream over worker threads, the pool started for it and closed after (convenient, but a
 * pool per epoch pays the workers' start-up each time: keep a {@link BatchWorkerPool} instead).
 * With `workers` ≤ 1 this is `batches()`.
 */
export function parallelBatches(items: DataItem[], options: ParallelBatchOptions): BatchStream {
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  if (workers === 1) return batches(items, options);
  if (options.decode) throw new DataError('Expected no custom decode with worker threads: functions cannot be sent to them');
  const pool = new BatchWorkerPool(workers);
  const inner = pool.batches(items, options);
  return {
    stats: inner.stats,
    plan: inner.plan,
    async *[Symbol.asyncIterator]() {
      try {
        yield* inner;
      } finally {
        await pool.close();
      }
    },
  };
}
