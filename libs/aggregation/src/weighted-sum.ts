import { AggregationError } from './errors';
import { createWasmKernels, type WasmKernels } from './kernels';

/** Values per input copied into the kernel's scratch at a time (128 KiB of float32; measured best among 2K–128K here). */
const CHUNK = 32768;

export interface WeightedSumOptions {
  /**
   * How many inputs are folded in one pass over the accumulator. Up to this many
   * inputs are held (by reference) until the next one arrives or the mean is
   * taken; k inputs then cost one read and write of the accumulator instead of k.
   */
  group?: number;
  backend?: 'wasm' | 'js';
}

/**
 * Streaming weighted sum of float32 tensor lists, kept in float64:
 * `add(tensors, w)` any number of times, then `mean()` = Σ wᵢ·xᵢ / Σ wᵢ as fresh
 * Float32Arrays. Memory is the float64 accumulator (8 bytes a value) plus at
 * most `group` held inputs, whatever the number of inputs.
 */
export class WeightedSum {
  readonly sizes: readonly number[];
  readonly group: number;
  readonly backend: 'wasm' | 'js';
  private readonly total: number;
  private pending: Float32Array[][] = [];
  private pendingWeights: number[] = [];
  private folded = 0;
  private weightSum = 0;
  private inputs = 0;
  // wasm engine
  private readonly kernels: WasmKernels | null = null;
  private readonly accOffsets: number[] = [];
  private wPtr = 0;
  private xPtr = 0;
  private outPtr = 0;
  // js engine
  private readonly acc: Float64Array | null = null;

  constructor(sizes: readonly number[], options: WeightedSumOptions = {}) {
    const group = options.group ?? 1;
    if (!Number.isInteger(group) || group < 1 || group > 64) {
      throw new AggregationError('bad_config', `Expected group to be an integer in [1, 64], but got ${group}`);
    }
    this.sizes = [...sizes];
    this.group = group;
    this.total = this.sizes.reduce((a, b) => a + b, 0);
    if (options.backend !== 'js') {
      let bytes = 0;
      for (const n of this.sizes) {
        this.accOffsets.push(bytes);
        bytes += ((n + 7) & ~7) * 8;
      }
      this.wPtr = bytes;
      this.xPtr = this.wPtr + ((group * 8 + 15) & ~15);
      this.outPtr = this.xPtr + group * CHUNK * 4;
      this.kernels = createWasmKernels(this.outPtr + CHUNK * 4);
    }
    if (!this.kernels) this.acc = new Float64Array(this.total);
    this.backend = this.kernels ? 'wasm' : 'js';
  }

  /** Number of inputs added since the last reset. */
  get count(): number {
    return this.inputs;
  }

  get totalWeight(): number {
    return this.weightSum;
  }

  /** Adds w·x. `tensors` must match `sizes`; the arrays are read at a later add or at mean(): do not modify them before. */
  add(tensors: readonly Float32Array[], weight: number): void {
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw new AggregationError('bad_update', `Expected a positive finite weight, but got ${weight}`);
    }
    if (tensors.length !== this.sizes.length) {
      throw new AggregationError('shape_mismatch', `Expected ${this.sizes.length} tensors, but got ${tensors.length}`);
    }
    for (let s = 0; s < tensors.length; s++) {
      if (tensors[s].length !== this.sizes[s]) {
        throw new AggregationError('shape_mismatch', `Expected tensor ${s} to hold ${this.sizes[s]} values, but got ${tensors[s].length}`);
      }
    }
    // A full group is folded when the next input arrives, so that the last
    // group of a round is folded straight into the mean (one pass fewer).
    if (this.pending.length >= this.group) this.fold(null);
    this.pending.push(tensors as Float32Array[]);
    this.pendingWeights.push(weight);
    this.weightSum += weight;
    this.inputs++;
  }

  /** Σ wᵢ·xᵢ / Σ wᵢ as fresh Float32Arrays, then starts over. Throws if nothing was added. */
  mean(): Float32Array[] {
    if (this.inputs === 0) throw new AggregationError('no_updates', 'Nothing to average: no input was added');
    const out = this.sizes.map((n) => new Float32Array(n));
    this.fold(out);
    this.reset();
    return out;
  }

  /** Forgets every input (held ones included). */
  reset(): void {
    this.pending = [];
    this.pendingWeights = [];
    this.folded = 0;
    this.weightSum = 0;
    this.inputs = 0;
  }

  /** Bytes held: the accumulator and kernel scratch, plus inputs held for grouping. */
  retainedBytes(): number {
    const own = this.kernels ? this.kernels.memory.buffer.byteLength : this.acc!.byteLength;
    let held = 0;
    for (const p of this.pending) for (const t of p) held += t.byteLength;
    return own + held;
  }

  /** Folds the pending inputs into the accumulator, or (with `out`) into the mean written to `out`. */
  private fold(out: Float32Array[] | null): void {
    const scale = 1 / this.weightSum;
    if (this.kernels) this.foldWasm(this.kernels, out, scale);
    else this.foldJs(this.acc!, out, scale);
    if (this.pending.length > 0) this.folded++;
    this.pending = [];
    this.pendingWeights = [];
  }

  private foldWasm(kx: WasmKernels, out: Float32Array[] | null, scale: number): void {
    const group = this.pending;
    const k = group.length;
    const first = this.folded === 0;
    const mem = kx.memory.buffer;
    const f32 = new Float32Array(mem);
    new Float64Array(mem, this.wPtr, Math.max(k, 1)).set(this.pendingWeights);
    const x0 = this.xPtr >> 2;
    const o0 = this.outPtr >> 2;
    const kernel = k === 0 ? null : out ? (first ? kx.foldSetOut : kx.foldAddOut) : first ? kx.foldSet : kx.foldAdd;
    for (let s = 0; s < this.sizes.length; s++) {
      const size = this.sizes[s];
      const accPtr = this.accOffsets[s];
      const dst = out?.[s];
      for (let o = 0; o < size; o += CHUNK) {
        const e = Math.min(size, o + CHUNK);
        const n = e - o;
        const n8 = (n + 7) & ~7;
        if (kernel) {
          const whole = o === 0 && e === size;
          for (let j = 0; j < k; j++) {
            const x = group[j][s];
            f32.set(whole ? x : x.subarray(o, e), x0 + j * CHUNK);
          }
          kernel(accPtr + o * 8, this.xPtr, CHUNK * 4, k, n8, this.wPtr, scale, this.outPtr);
        } else if (dst) {
          kx.scaleOut(accPtr + o * 8, n8, scale, this.outPtr);
        }
        if (dst) dst.set(f32.subarray(o0, o0 + n), o);
      }
    }
  }

  private foldJs(acc: Float64Array, out: Float32Array[] | null, scale: number): void {
    const group = this.pending;
    const w = this.pendingWeights;
    const first = this.folded === 0;
    let base = 0;
    for (let s = 0; s < this.sizes.length; s++) {
      const size = this.sizes[s];
      for (let j = 0; j < group.length; j++) {
        const x = group[j][s];
        const wj = w[j];
        if (first && j === 0) for (let i = 0; i < size; i++) acc[base + i] = wj * x[i];
        else for (let i = 0; i < size; i++) acc[base + i] += wj * x[i];
      }
      const dst = out?.[s];
      if (dst) for (let i = 0; i < size; i++) dst[i] = acc[base + i] * scale;
      base += size;
    }
  }
}
