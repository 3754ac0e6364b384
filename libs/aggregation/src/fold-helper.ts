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
  /** [0]: the last job done (its number, or minus it if it failed); [1]: calls of the current job done. */
  private readonly flag = new Int32Array(new SharedArrayBuffer(8));
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
    Atomics.store(this.flag, 1, 0);
    this.worker.postMessage({ ...job, seq });
    return seq;
  }

  /** Blocks until job `seq` is done. */
  wait(seq: number): void {
    this.waitFor(seq, Infinity);
  }

  /** Blocks until the first `calls` calls of job `seq` are done (or all of it, if fewer). */
  waitFor(seq: number, calls: number): void {
    const deadline = Date.now() + TIMEOUT_MS;
    const failed = () => new AggregationError('helper_failed', 'The aggregation helper thread failed while folding');
    for (;;) {
      const status = Atomics.load(this.flag, 0);
      if (status === seq) return;
      if (status === -seq) throw failed();
      const done = Atomics.load(this.flag, 1);
      if (done >= calls) {
        // a failed job sets the count past any call after its status
        if (Atomics.load(this.flag, 0) === -seq) throw failed();
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new AggregationError('helper_failed', `The aggregation helper thread did not finish within ${TIMEOUT_MS / 1000} s`);
      // woken by each call done and by the job's end
      Atomics.wait(this.flag, 1, done, left);
    }
  }

  dispose(): void {
    void this.worker.terminate();
  }
}
