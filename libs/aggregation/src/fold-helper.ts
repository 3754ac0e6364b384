import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AggregationError } from './errors';
import { kernelsModule } from './kernels';

/** How long the main thread waits for the helper's share before giving up. */
const TIMEOUT_MS = 60_000;

/** A helper's share of one fold: a kernel and, per tensor, [pa, pxs, n, pout]. */
export interface FoldJob {
  kernel: 'foldSet' | 'foldAdd' | 'foldSetOut' | 'foldAddOut' | 'scaleOut';
  calls: Int32Array;
  stride: number;
  k: number;
  pw: number;
  scale: number;
}

/**
 * A worker thread that runs the weighted-sum kernels on part of a fold, over
 * the memory it shares with the main thread: `start` hands it its share, the
 * main thread does the rest, `wait` blocks until the helper is done. Only a
 * machine with two or more cores gets one.
 */
export class FoldHelper {
  private readonly worker: Worker;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private seq = 0;

  private constructor(memory: WebAssembly.Memory, module: WebAssembly.Module) {
    this.worker = new Worker(new URL('./fold-worker.js', import.meta.url), {
      workerData: { module, memory, signal: this.flag.buffer },
      execArgv: [],
    });
    this.worker.unref();
  }

  /** A helper over `memory`, or null on one core or where a thread cannot start. */
  static create(memory: WebAssembly.Memory): FoldHelper | null {
    const module = kernelsModule();
    if (!module || availableParallelism() < 2) return null;
    try {
      return new FoldHelper(memory, module);
    } catch {
      return null;
    }
  }

  start(job: FoldJob): number {
    const seq = ++this.seq;
    this.worker.postMessage({ ...job, seq });
    return seq;
  }

  wait(seq: number): void {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const now = Atomics.load(this.flag, 0);
      if (now === seq) return;
      if (now === -seq) throw new AggregationError('helper_failed', 'The aggregation helper thread failed while folding');
      const left = deadline - Date.now();
      if (left <= 0) throw new AggregationError('helper_failed', `The aggregation helper thread did not finish within ${TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.flag, 0, now, left);
    }
  }

  dispose(): void {
    void this.worker.terminate();
  }
}
