import { cappedShares, maxCut } from './aggregate';
import { AggregationError } from './errors';
import type { SumResult, WeightedSum } from './weighted-sum';

interface Held {
  id: number;
  count: number;
  tensors: Float32Array[];
}

/** Values swapped at a time between an intake slot and a held copy (128 KiB of float32). */
const SWAP_CHUNK = 32768;

/**
 * A weighted mean in which no input's share exceeds `cap` (water-filling, see
 * `cappedShares`), exact, over a streaming `WeightedSum`.
 *
 * Inputs above the cap are cut to a share of exactly `cap`; the others keep
 * shares proportional to their counts, λ·count, with one λ for all of them. So
 * the inputs that are not cut can be folded as they arrive, weighted by their
 * counts, and only the ones that may end up cut must wait for the round's
 * last count. Those are the largest: an input is cut only if its count is
 * above every uncut one's, and fewer than 1/cap inputs can be cut (k inputs at
 * `cap` each must leave the others more than nothing). So the K = `maxCut(cap)`
 * largest counts so far are held (copies, 4 bytes a value each) and every
 * other input is folded at once; at the end the held ones are folded with
 * weight share/λ, so that the sum's own normalisation gives every input its
 * share exactly. A round of at most K inputs is all held, which covers n·cap ≤ 1 (equal shares).
 */
export class CappedSum {
  /** How many of the largest inputs are held until the end. */
  readonly holds: number;
  private held: Held[] = [];
  /** Copies kept from earlier rounds, reused. */
  private spare: Float32Array[][] = [];
  private counts: number[] = [];
  private ids: number[] = [];
  private readonly tmp = new Float32Array(SWAP_CHUNK);

  constructor(
    private readonly sum: WeightedSum,
    readonly cap: number,
  ) {
    if (!(cap > 0 && cap <= 1)) throw new AggregationError('bad_config', `Expected maxWeight in (0, 1], but got ${cap}`);
    this.holds = maxCut(cap);
  }

  /**
   * Takes one input with its example count: held (copied), or folded by the
   * sum (which may keep `tensors` until its next fold, as `WeightedSum.add` does).
   */
  add(tensors: Float32Array[], count: number, id: number): void {
    this.counts.push(count);
    this.ids.push(id);
    if (this.held.length < this.holds) {
      this.held.push({ id, count, tensors: this.copy(tensors, this.spare.pop()) });
      return;
    }
    let smallest: Held | undefined = this.held[0];
    for (const h of this.held) if (h.count < smallest.count) smallest = h;
    if (!smallest || count <= smallest.count) {
      this.sum.add(tensors, count, id);
      return;
    }
    // the new input is among the largest: the smallest held one is folded now, the new one held in its place
    if (this.sum.isIntake(tensors)) {
      // decoded into the sum's next slot: trade contents, and fold the slot as it is
      this.swap(tensors, smallest.tensors);
      this.sum.add(tensors, smallest.count, smallest.id);
    } else {
      this.sum.addAndRelease(smallest.tensors, smallest.count, smallest.id);
      this.copy(tensors, smallest.tensors);
    }
    smallest.count = count;
    smallest.id = id;
  }

  /** The capped mean (see WeightedSum.result), then starts over; the held copies are kept for the next round. */
  result(into?: readonly Float32Array[]): SumResult {
    const shares = cappedShares(this.counts, this.cap);
    const heldIds = new Set(this.held.map((h) => h.id));
    let foldedShares = 0;
    let foldedCounts = 0;
    this.ids.forEach((id, i) => {
      if (heldIds.has(id)) return;
      foldedShares += shares[i];
      foldedCounts += this.counts[i];
    });
    // the folded inputs weigh their counts, i.e. share / λ: the held ones must weigh share / λ too
    const lambda = foldedCounts > 0 ? foldedShares / foldedCounts : 1;
    const shareOf = new Map(this.ids.map((id, i) => [id, shares[i]]));
    for (const h of this.held) this.sum.add(h.tensors, shareOf.get(h.id)! / lambda, h.id);
    const result = this.sum.result(into);
    this.reset();
    return result;
  }

  /** Forgets the round's inputs (the held copies are kept for reuse). */
  reset(): void {
    this.spare.push(...this.held.map((h) => h.tensors));
    this.held = [];
    this.counts = [];
    this.ids = [];
  }

  /** Bytes of the copies held or kept for reuse. */
  retainedBytes(): number {
    let n = 0;
    for (const t of [...this.held.map((h) => h.tensors), ...this.spare]) for (const a of t) n += a.byteLength;
    return n;
  }

  private copy(from: readonly Float32Array[], to?: Float32Array[]): Float32Array[] {
    const out = to ?? from.map((t) => new Float32Array(t.length));
    for (let s = 0; s < from.length; s++) out[s].set(from[s]);
    return out;
  }

  private swap(a: Float32Array[], b: Float32Array[]): void {
    const tmp = this.tmp;
    for (let s = 0; s < a.length; s++) {
      for (let o = 0; o < a[s].length; o += SWAP_CHUNK) {
        const e = Math.min(a[s].length, o + SWAP_CHUNK);
        tmp.set(a[s].subarray(o, e));
        a[s].set(b[s].subarray(o, e), o);
        b[s].set(tmp.subarray(0, e - o), o);
      }
    }
  }
}
