import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { AggregationError } from './errors';
import { claim } from './fold-claim.js';
import { kernelsModule } from './kernels';

/** How long the main thread waits for the helper before giving up. */
const TIMEOUT_MS = 60_000;
/** Slices of a wait, between which the main thread checks whether the helper failed. */
const SLICE_MS = 100;

// control words, then one word per item: the number of the job that did it.
// A range of items is one word: next (low 16 bits) and end (high 16 bits).
// NONFINITE is set when a kernel the helper ran read a NaN or ±Inf value.
const STATUS = 0;
const MAIN = 1;
const HELP = 2;
const NONFINITE = 3;
const DONE = 4;
/** Items a job may have: a range's ends are 16-bit. */
export const MAX_ITEMS = 0xffff;

/** One fold shared by two threads: a kernel and, per item, [pa, pxs, n, pout] as the helper calls it. */
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
 * the memory it shares with the main thread. The fold is a list of items (a
 * tensor or a chunk of one), split in two ranges: each thread works through its
 * own from the front, streaming through memory, and when done takes items from
 * the end of the other's, so that a thread slowed by the machine is helped out.
 * `start` hands the helper the job, `take` gives the main thread its next item,
 * `waitItem` blocks until an item the helper took is done. Once those are done
 * the fold is complete; the next `start` first waits for the helper to have
 * left the previous job. Only a machine with two or more cores gets one.
 */
export class FoldHelper {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private seq = 0;
  private items = 0;

  private constructor(memory: WebAssembly.Memory, module: WebAssembly.Module, maxItems: number) {
    this.control = new Int32Array(new SharedArrayBuffer(4 * (DONE + maxItems)));
    this.worker = new Worker(new URL('./fold-worker.js', import.meta.url), {
      workerData: { module, memory, control: this.control.buffer },
      execArgv: [],
    });
    this.worker.unref();
  }

  /** A helper over `memory` for jobs of at most `maxItems` (≤ MAX_ITEMS) items, or null on one core or where a thread cannot start. */
  static create(memory: WebAssembly.Memory, maxItems: number): FoldHelper | null {
    const module = kernelsModule();
    if (!module || availableParallelism() < 2 || maxItems > MAX_ITEMS) return null;
    try {
      return new FoldHelper(memory, module, maxItems);
    } catch {
      return null;
    }
  }

  /**
   * Starts a job whose items [0, split) are the main thread's and [split, n) the
   * helper's; the main thread then takes items with `take()` alongside the helper.
   */
  start(job: FoldJob, split: number): number {
    const items = job.calls.length >> 2;
    if (DONE + items > this.control.length) throw new AggregationError('helper_failed', `A fold of ${items} items exceeds the helper's ${this.control.length - DONE}`);
    // the helper must have left the previous job (whether it failed there was told then)
    if (this.seq > 0) this.block(this.seq, STATUS, () => Math.abs(Atomics.load(this.control, STATUS)) === this.seq, false);
    const seq = ++this.seq;
    this.items = items;
    const mid = Math.max(0, Math.min(items, split));
    Atomics.store(this.control, MAIN, mid << 16);
    Atomics.store(this.control, HELP, mid | (items << 16));
    Atomics.store(this.control, NONFINITE, 0);
    this.worker.postMessage({ ...job, seq });
    return seq;
  }

  /** The main thread's next item (the next of its range, else the last left of the helper's), or -1 when every item is taken. */
  take(): number {
    const i = claim(this.control, MAIN, true);
    return i >= 0 ? i : claim(this.control, HELP, false);
  }

  /** True when a kernel the helper ran in the current job read a NaN or ±Inf value (read once its items are waited for). */
  sawNonFinite(): boolean {
    return Atomics.load(this.control, NONFINITE) !== 0;
  }

  /** Blocks until item `i` of job `seq`, taken by the helper, is done. */
  waitItem(seq: number, i: number): void {
    this.block(seq, DONE + i, () => Atomics.load(this.control, DONE + i) === seq);
  }

  private block(seq: number, word: number, ready: () => boolean, failures = true): void {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      if (ready()) return;
      if (failures && Atomics.load(this.control, STATUS) === -seq) throw new AggregationError('helper_failed', 'The aggregation helper thread failed while folding');
      const left = deadline - Date.now();
      if (left <= 0) throw new AggregationError('helper_failed', `The aggregation helper thread did not finish within ${TIMEOUT_MS / 1000} s`);
      const now = Atomics.load(this.control, word);
      if (!ready()) Atomics.wait(this.control, word, now, Math.min(left, SLICE_MS));
    }
  }

  dispose(): void {
    void this.worker.terminate();
  }
}
