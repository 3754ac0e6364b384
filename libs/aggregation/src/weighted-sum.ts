import { AggregationError } from './errors';
import { findNonFinite, type NonFinite } from './finite';
import { FoldHelper, MAX_ITEMS } from './fold-helper';
import { createWasmKernels, MAX_WASM_BYTES, type WasmKernels } from './kernels';

/** Values per input copied into the kernel's scratch at a time (128 KiB of float32; measured best among 2K–128K here). */
const CHUNK = 32768;
/**
 * The largest weight an input may have: with |x| ≤ 3.4e38 (float32), every
 * sum the kernels form stays far inside float64, so a sum that is not finite
 * always means an input value that is not.
 */
const MAX_WEIGHT = 1e30;

/** An input left out of the sum because of a NaN or ±Inf value: its id (see `add`) and the first such value. */
export interface SumRefusal extends NonFinite {
  id: number;
}

/** The mean of the inputs kept (null when every input was refused), and the inputs refused. */
export interface SumResult {
  mean: Float32Array[] | null;
  refused: SumRefusal[];
}

export interface WeightedSumOptions {
  /**
   * How many inputs are folded in one pass over the accumulator. Up to this many
   * inputs are held (by reference) until the next one arrives or the mean is
   * taken; k inputs then cost one read and write of the accumulator instead of k.
   */
  group?: number;
  backend?: 'wasm' | 'js';
  /**
   * Fold inputs taken through intake() on two threads, each over half the
   * values ('auto': when the machine has two or more cores and the inputs hold
   * at least 2^20 values; wasm engine only).
   */
  helper?: boolean | 'auto';
}

/** Below this many values a second thread costs more than it saves. */
const HELPER_MIN_VALUES = 1 << 20;
/**
 * The helper's share of the values to start with: a little over half, because
 * the main thread also copies the mean out, its own share and then the
 * helper's. Whichever thread finishes first then takes over the other's last items.
 */
const HELPER_SHARE = 0.56;

/**
 * Streaming weighted sum of float32 tensor lists, kept in float64:
 * `add(tensors, w)` any number of times, then `mean()` = Σ wᵢ·xᵢ / Σ wᵢ as fresh
 * Float32Arrays. Memory is the float64 accumulator (8 bytes a value) plus at
 * most `group` held inputs, whatever the number of inputs.
 *
 * An input with a NaN or ±Inf value is left out, never folded: the wasm
 * kernels report a sum that is not finite as they fold (no separate pass over
 * the values), and the group is then folded again without the culprits; before
 * a fold that adds to the accumulator in place, which could not be taken back,
 * the group is scanned first. The js engine scans each input as it is added.
 * `result()` lists the inputs left out.
 */
export class WeightedSum {
  readonly sizes: readonly number[];
  readonly group: number;
  readonly backend: 'wasm' | 'js';
  private readonly total: number;
  private pending: Float32Array[][] = [];
  private pendingWeights: number[] = [];
  private pendingIds: number[] = [];
  private refusals: SumRefusal[] = [];
  private folded = 0;
  private weightSum = 0;
  /** The weights of the inputs already folded (weightSum less the pending ones'). */
  private foldedWeight = 0;
  private inputs = 0;
  // wasm engine
  private readonly kernels: WasmKernels | null = null;
  private readonly accOffsets: number[] = [];
  private wPtr = 0;
  private xPtr = 0;
  private outPtr = 0;
  // input slots (wasm engine, from the first intake()): pending inputs live in
  // slots 0..k-1 of the kernels' memory, added one at a time as needed (at most
  // `group`), so the kernels read them where they were decoded
  private slotMode: 'off' | 'on' | 'unavailable' = 'off';
  private slotCount = 0;
  private slotBase = 0;
  private slotBytes = 0;
  private readonly slotOffsets: number[] = [];
  /** Each slot's arrays, made once: the memory is shared, so growing it never detaches them. */
  private readonly slotArrays: Float32Array[][] = [];
  private pendingSlots = 0;
  // the helper thread (slot mode): it shares the fold's items (tensors, or
  // 32,768-value chunks of the larger ones) with the main thread, in two ranges
  // (see FoldHelper), and writes the means of the items it takes to its own
  // region, from which the main thread copies them out
  private readonly helperOption: boolean | 'auto';
  private helper: FoldHelper | null = null;
  private helperOut = 0;
  /** The fold's items, [tensor, first value, values] each; every item fits the staging area. */
  private items = new Int32Array(0);
  /** The helper's call per item, [pa, pxs, n, pout], pout in the helper's own copy of the output layout. */
  private helperCalls = new Int32Array(0);
  /** Items the main thread took in the current fold. */
  private mine = new Uint8Array(0);
  /** The first item of the helper's range. */
  private split = 0;
  // js engine
  private readonly acc: Float64Array | null = null;

  constructor(sizes: readonly number[], options: WeightedSumOptions = {}) {
    const group = options.group ?? 1;
    this.helperOption = options.helper ?? 'auto';
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
        bytes += ((n + 15) & ~15) * 8;
      }
      this.wPtr = bytes;
      this.xPtr = this.wPtr + ((group * 8 + 15) & ~15);
      this.outPtr = this.xPtr + group * CHUNK * 4;
      this.kernels = createWasmKernels(this.outPtr + CHUNK * 4);
    }
    if (!this.kernels) this.acc = new Float64Array(this.total);
    this.backend = this.kernels ? 'wasm' : 'js';
  }

  /** Number of inputs in the sum since the last reset (refused ones not counted). */
  get count(): number {
    return this.inputs;
  }

  /** Threads folding inputs taken through intake(): 2 once the helper thread runs, else 1. */
  get threads(): 1 | 2 {
    return this.helper ? 2 : 1;
  }

  get totalWeight(): number {
    return this.weightSum;
  }

  /**
   * Adds w·x. `tensors` must match `sizes`; the arrays are read at a later add
   * or at mean(): do not modify them before. `id` names the input in `result().refused`
   * (default: its position among the inputs since the last reset, from 0).
   */
  add(tensors: readonly Float32Array[], weight: number, id: number = this.inputs + this.refusals.length): void {
    if (!(weight > 0 && weight <= MAX_WEIGHT)) {
      throw new AggregationError('bad_update', `Expected a positive finite weight of at most ${MAX_WEIGHT}, but got ${weight}`);
    }
    if (tensors.length !== this.sizes.length) {
      throw new AggregationError('shape_mismatch', `Expected ${this.sizes.length} tensors, but got ${tensors.length}`);
    }
    for (let s = 0; s < tensors.length; s++) {
      if (tensors[s].length !== this.sizes[s]) {
        throw new AggregationError('shape_mismatch', `Expected tensor ${s} to hold ${this.sizes[s]} values, but got ${tensors[s].length}`);
      }
    }
    if (!this.kernels) {
      // the js engine folds into the accumulator in place: check first
      const bad = findNonFinite(tensors);
      if (bad) {
        this.refusals.push({ id, ...bad });
        return;
      }
    }
    // A full group is folded when the next input arrives, so that the last
    // group of a round is folded straight into the mean (one pass fewer).
    if (this.held() >= this.group) this.fold(null);
    if (this.slotMode === 'on') {
      const views = this.slotViews(this.nextSlot());
      if (!tensors.every((t, s) => t === views[s] || (t.buffer === views[s].buffer && t.byteOffset === views[s].byteOffset))) {
        for (let s = 0; s < views.length; s++) views[s].set(tensors[s]);
      }
      this.pendingSlots++;
    } else {
      this.pending.push(tensors as Float32Array[]);
    }
    this.pendingWeights.push(weight);
    this.pendingIds.push(id);
    this.weightSum += weight;
    this.inputs++;
  }

  /** Like `add`, but keeps no reference to `tensors` once it returns (copied into a slot, or folded at once). */
  addAndRelease(tensors: readonly Float32Array[], weight: number, id?: number): void {
    this.add(tensors, weight, id);
    if (this.slotMode !== 'on' && this.pending.length > 0) this.fold(null);
  }

  /** True when `tensors` are the arrays the last intake() handed out (not added yet). */
  isIntake(tensors: readonly Float32Array[]): boolean {
    if (this.slotMode !== 'on' || this.pendingSlots >= this.slotCount) return false;
    const views = this.slotViews(this.pendingSlots);
    return tensors.length === views.length && tensors.every((t, s) => t === views[s]);
  }

  /**
   * The first NaN or ±Inf value of `tensors` (null if none), read with the
   * SIMD scan when they are the arrays intake() handed out.
   */
  nonFinite(tensors: readonly Float32Array[]): NonFinite | null {
    if (this.isIntake(tensors) && this.kernels!.scan(this.slotBase + this.pendingSlots * this.slotBytes, this.slotBytes >> 2) === 0) return null;
    return findNonFinite(tensors);
  }

  /**
   * Arrays (one per size, in the kernels' memory) to write the next input into,
   * so that add() need not copy it: decode an input straight into them, then
   * pass them to add(). Valid until that add(), or until the next intake() if
   * the input is dropped instead. May fold a full group first. The slots are
   * allocated as needed, up to `group` inputs (fewer if wasm memory runs out).
   * Null with the js engine, or when not even one input fits in wasm memory.
   */
  intake(): Float32Array[] | null {
    if (!this.kernels || this.slotMode === 'unavailable') return null;
    if (this.slotMode === 'off') this.startSlots(this.kernels);
    if (this.held() >= this.group) this.fold(null);
    const slot = this.nextSlot();
    if (slot < 0) {
      this.slotMode = 'unavailable';
      return null;
    }
    return this.slotViews(slot);
  }

  /**
   * Lays out the input slots after the staging area, cuts the fold into items
   * and, when wanted, starts the helper thread, which writes the means of the
   * items it takes to its own region before the slots.
   */
  private startSlots(kx: WasmKernels): void {
    if (this.held() > 0) this.fold(null);
    let bytes = 0;
    for (const n of this.sizes) {
      this.slotOffsets.push(bytes);
      bytes += ((n + 15) & ~15) * 4;
    }
    this.slotBytes = bytes;
    this.slotBase = (this.outPtr + CHUNK * 4 + 15) & ~15;
    this.slotMode = 'on';
    const items: number[] = [];
    this.sizes.forEach((n, s) => {
      for (let o = 0; o < n; o += CHUNK) items.push(s, o, Math.min(n, o + CHUNK) - o);
    });
    this.items = Int32Array.from(items);
    this.mine = new Uint8Array(items.length / 3);
    const wanted = this.helperOption === 'auto' ? this.total >= HELPER_MIN_VALUES : this.helperOption;
    if (!wanted || this.sizes.length < 2 || this.mine.length > MAX_ITEMS) return;
    this.helper = FoldHelper.create(kx.memory, this.mine.length);
    if (!this.helper) return;
    this.helperOut = this.slotBase;
    this.slotBase += bytes;
    let before = 0;
    this.split = 0;
    while (this.split < this.mine.length && before < this.total * (1 - HELPER_SHARE)) before += this.items[3 * this.split++ + 2];
    this.helperCalls = new Int32Array(4 * this.mine.length);
    for (let i = 0, c = 0; i < this.items.length; i += 3, c += 4) {
      const [s, o, m] = [this.items[i], this.items[i + 1], this.items[i + 2]];
      this.helperCalls.set([this.accOffsets[s] + o * 8, this.slotBase + this.slotOffsets[s] + o * 4, (m + 15) & ~15, this.helperOut + this.slotOffsets[s] + o * 4], c);
    }
  }

  /**
   * Σ wᵢ·xᵢ / Σ wᵢ over the inputs kept, and the inputs refused; then starts
   * over. Throws if nothing was added. Written into `into` when given (arrays
   * the caller no longer uses, one per size, none of them an input of this
   * round), else into fresh Float32Arrays. `mean` is null when every input was refused.
   */
  result(into?: readonly Float32Array[]): SumResult {
    if (this.inputs === 0 && this.refusals.length === 0) throw new AggregationError('no_updates', 'Nothing to average: no input was added');
    const out = into ? this.checkInto(into) : this.sizes.map((n) => new Float32Array(n));
    const kept = this.fold(out);
    const refused = this.refusals;
    this.reset();
    return { mean: kept ? out : null, refused };
  }

  /** `result().mean`; an input with a NaN or ±Inf value is refused (`not_finite`, naming it by its id). */
  mean(into?: readonly Float32Array[]): Float32Array[] {
    const { mean, refused } = this.result(into);
    if (refused.length > 0) {
      const r = refused[0];
      throw new AggregationError('not_finite', `Expected every value to be finite, but input ${r.id} has ${r.value} at tensor ${r.tensor}[${r.index}]`);
    }
    return mean!;
  }

  private checkInto(into: readonly Float32Array[]): Float32Array[] {
    if (into.length !== this.sizes.length) {
      throw new AggregationError('shape_mismatch', `Expected ${this.sizes.length} arrays to write the mean into, but got ${into.length}`);
    }
    const wasm = this.kernels?.memory.buffer;
    for (let s = 0; s < into.length; s++) {
      const a = into[s];
      if (!(a instanceof Float32Array) || a.length !== this.sizes[s]) {
        throw new AggregationError('shape_mismatch', `Expected array ${s} to write the mean into to be a Float32Array of ${this.sizes[s]} values`);
      }
      if (a.buffer === wasm || this.pending.some((p) => p[s].buffer === a.buffer)) {
        throw new AggregationError('bad_config', `Array ${s} to write the mean into is one of this round's inputs`);
      }
    }
    return [...into];
  }

  /** Forgets every input (held ones included). */
  reset(): void {
    this.pending = [];
    this.pendingSlots = 0;
    this.pendingWeights = [];
    this.pendingIds = [];
    this.refusals = [];
    this.folded = 0;
    this.weightSum = 0;
    this.foldedWeight = 0;
    this.inputs = 0;
  }

  /** Bytes held: the accumulator and kernel scratch, plus inputs held for grouping. */
  retainedBytes(): number {
    const own = this.kernels ? this.kernels.memory.buffer.byteLength : this.acc!.byteLength;
    let held = 0;
    for (const p of this.pending) for (const t of p) held += t.byteLength;
    return own + held;
  }

  private held(): number {
    return this.pending.length + this.pendingSlots;
  }

  /**
   * The slot the next input goes to, allocated if new; when wasm memory cannot
   * grow by one more, what is held is folded first and slot 0 reused (-1: no slot fits at all).
   */
  private nextSlot(): number {
    const kx = this.kernels!;
    if (this.pendingSlots < this.slotCount) return this.pendingSlots;
    const end = this.slotBase + (this.slotCount + 1) * this.slotBytes;
    const have = kx.memory.buffer.byteLength;
    let grown = end <= have;
    if (!grown && end <= MAX_WASM_BYTES) {
      try {
        kx.memory.grow(Math.ceil((end - have) / 65536));
        grown = true;
      } catch {
        grown = false;
      }
    }
    if (grown) return this.slotCount++;
    if (this.slotCount === 0) return -1;
    this.fold(null);
    return 0;
  }

  private slotViews(slot: number): Float32Array[] {
    let views = this.slotArrays[slot];
    if (!views) {
      const mem = this.kernels!.memory.buffer;
      const at = this.slotBase + slot * this.slotBytes;
      views = this.sizes.map((n, s) => new Float32Array(mem, at + this.slotOffsets[s], n));
      this.slotArrays[slot] = views;
    }
    return views;
  }

  /**
   * Folds the pending inputs into the accumulator, or (with `out`) into the
   * mean written to `out`, leaving out every input with a NaN or ±Inf value.
   * False when nothing was kept at all (no mean to write).
   */
  private fold(out: Float32Array[] | null): boolean {
    // acc += S cannot be taken back: scan such a group first
    if (!out && this.folded > 0 && this.held() > 0) this.dropNonFinite();
    for (;;) {
      if (this.held() === 0 && (!out || this.folded === 0)) break;
      const scale = 1 / this.weightSum;
      let nonFinite = false;
      if (this.kernels && this.slotMode === 'on') nonFinite = this.foldSlots(this.kernels, out, scale);
      else if (this.kernels) nonFinite = this.foldWasm(this.kernels, out, scale);
      else this.foldJs(this.acc!, out, scale);
      // every fold but acc += S leaves the accumulator as it was (or rewrites it whole): fold again without the culprits
      if (!nonFinite) break;
      if (this.dropNonFinite() === 0) throw new AggregationError('bad_update', 'The weighted sum overflowed float64 although every input is finite');
    }
    if (this.held() > 0) this.folded++;
    this.foldedWeight = this.weightSum;
    const kept = this.folded > 0;
    this.pending = [];
    this.pendingSlots = 0;
    this.pendingWeights = [];
    this.pendingIds = [];
    return kept;
  }

  /** Takes every pending input with a NaN or ±Inf value out of the group (into `refusals`); returns how many. */
  private dropNonFinite(): number {
    const kx = this.kernels;
    let dropped = 0;
    for (let j = this.held() - 1; j >= 0; j--) {
      const slots = this.slotMode === 'on';
      if (slots && kx!.scan(this.slotBase + j * this.slotBytes, this.slotBytes >> 2) === 0) continue;
      const bad = findNonFinite(slots ? this.slotViews(j) : this.pending[j]);
      if (!bad) continue;
      this.refusals.push({ id: this.pendingIds[j], ...bad });
      this.inputs--;
      dropped++;
      // the last pending input takes its place (those after j are already checked)
      const last = this.held() - 1;
      if (slots) {
        if (j < last) this.slotViews(j).forEach((t, s) => t.set(this.slotViews(last)[s]));
        this.pendingSlots--;
      } else {
        this.pending[j] = this.pending[last];
        this.pending.pop();
      }
      this.pendingWeights[j] = this.pendingWeights[last];
      this.pendingWeights.pop();
      this.pendingIds[j] = this.pendingIds[last];
      this.pendingIds.pop();
    }
    // summed again rather than subtracted, so that nothing of the culprits' weights is left over
    this.weightSum = this.pendingWeights.reduce((a, w) => a + w, this.foldedWeight);
    return dropped;
  }

  /**
   * The kernels straight on the pending slots 0..k-1 (equally spaced): no copy.
   * Item by item: the main thread works through its range (then the end of the
   * helper's), the helper through its own; the main thread copies the means out,
   * its own through the staging area, then the helper's as each is done.
   */
  private foldSlots(kx: WasmKernels, out: Float32Array[] | null, scale: number): boolean {
    const k = this.pendingSlots;
    const first = this.folded === 0;
    let nonFinite = 0;
    new Float64Array(kx.memory.buffer, this.wPtr, Math.max(k, 1)).set(this.pendingWeights);
    const fold = out ? (first ? 'foldSetOut' : 'foldAddOut') : first ? 'foldSet' : 'foldAdd';
    const name = k === 0 ? 'scaleOut' : fold;
    const kernel = kx[fold];
    const items = this.items;
    const count = this.mine.length;
    const f32 = new Float32Array(kx.memory.buffer);
    const o0 = this.outPtr >> 2;
    const run = (i: number) => {
      const s = items[3 * i];
      const o = items[3 * i + 1];
      const m = items[3 * i + 2];
      const m16 = (m + 15) & ~15;
      const accPtr = this.accOffsets[s] + o * 8;
      if (k === 0) kx.scaleOut(accPtr, m16, scale, this.outPtr);
      else nonFinite |= kernel(accPtr, this.slotBase + this.slotOffsets[s] + o * 4, this.slotBytes, k, m16, this.wPtr, scale, this.outPtr);
      if (out) out[s].set(f32.subarray(o0, o0 + m), o);
    };
    const helper = this.helper;
    if (!helper) {
      for (let i = 0; i < count; i++) run(i);
      return nonFinite !== 0;
    }
    const seq = helper.start({ kernel: name, calls: this.helperCalls, stride: this.slotBytes, k, pw: this.wPtr, scale }, this.split);
    const mine = this.mine;
    mine.fill(0);
    for (let i = helper.take(); i >= 0; i = helper.take()) {
      run(i);
      mine[i] = 1;
    }
    for (let i = 0; i < count; i++) {
      if (mine[i]) continue;
      helper.waitItem(seq, i);
      if (out) {
        const s = items[3 * i];
        const o = items[3 * i + 1];
        const at = (this.helperOut + this.slotOffsets[s] + o * 4) >> 2;
        out[s].set(f32.subarray(at, at + items[3 * i + 2]), o);
      }
    }
    return nonFinite !== 0 || helper.sawNonFinite();
  }

  /** Stops the helper thread, if one was started (it never keeps the process alive either way). */
  dispose(): void {
    this.helper?.dispose();
    this.helper = null;
  }

  private foldWasm(kx: WasmKernels, out: Float32Array[] | null, scale: number): boolean {
    const group = this.pending;
    const k = group.length;
    const first = this.folded === 0;
    const mem = kx.memory.buffer;
    const f32 = new Float32Array(mem);
    new Float64Array(mem, this.wPtr, Math.max(k, 1)).set(this.pendingWeights);
    const x0 = this.xPtr >> 2;
    const o0 = this.outPtr >> 2;
    const kernel = k === 0 ? null : out ? (first ? kx.foldSetOut : kx.foldAddOut) : first ? kx.foldSet : kx.foldAdd;
    let nonFinite = 0;
    for (let s = 0; s < this.sizes.length; s++) {
      const size = this.sizes[s];
      const accPtr = this.accOffsets[s];
      const dst = out?.[s];
      for (let o = 0; o < size; o += CHUNK) {
        const e = Math.min(size, o + CHUNK);
        const n = e - o;
        const n16 = (n + 15) & ~15;
        if (kernel) {
          const whole = o === 0 && e === size;
          for (let j = 0; j < k; j++) {
            const x = group[j][s];
            f32.set(whole ? x : x.subarray(o, e), x0 + j * CHUNK);
            // the kernel reads n16 values: no stale value of an earlier chunk past n
            if (n < n16) f32.fill(0, x0 + j * CHUNK + n, x0 + j * CHUNK + n16);
          }
          nonFinite |= kernel(accPtr + o * 8, this.xPtr, CHUNK * 4, k, n16, this.wPtr, scale, this.outPtr);
        } else if (dst) {
          kx.scaleOut(accPtr + o * 8, n16, scale, this.outPtr);
        }
        if (dst) dst.set(f32.subarray(o0, o0 + n), o);
      }
    }
    return nonFinite !== 0;
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
