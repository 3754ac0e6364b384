import { sizeOf, type NamedWeights } from '@fedxray/protocol';
import { AggregationError } from './errors';
import type { ClientUpdate } from './strategy';

interface TensorEntry {
  name: string;
  shape: readonly number[];
  size: number;
  /** Index among aggregated tensors, or -1 when the tensor is kept local. */
  slot: number;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * The global model's manifest for one round: which tensors are aggregated (in
 * order, the "slots") and which stay local. Maps each update onto the slots,
 * refusing unknown, missing, duplicated or wrongly shaped tensors.
 */
export class ModelLayout {
  private readonly entries: TensorEntry[];
  private readonly byName = new Map<string, TensorEntry>();
  /** Value counts of the aggregated tensors, in slot order. */
  readonly slotSizes: number[] = [];
  /** Names of the aggregated tensors, in slot order. */
  readonly slotNames: string[] = [];

  constructor(global: NamedWeights, keepLocal?: (name: string) => boolean) {
    this.entries = global.map((t, i) => {
      const size = sizeOf(t.shape);
      if (!(t.values instanceof Float32Array) || t.values.length !== size) {
        throw new AggregationError(
          'shape_mismatch',
          `Expected global tensor ${i} (${t.name}) to hold ${size} float32 values for shape ${shapeText(t.shape)}, but got ${t.values?.length ?? 'none'}`,
        );
      }
      if (this.byName.has(t.name)) throw new AggregationError('shape_mismatch', `The global model names tensor ${t.name} twice`);
      const local = keepLocal?.(t.name) ?? false;
      const entry: TensorEntry = { name: t.name, shape: [...t.shape], size, slot: local ? -1 : this.slotSizes.length };
      if (!local) {
        this.slotSizes.push(size);
        this.slotNames.push(t.name);
      }
      this.byName.set(t.name, entry);
      return entry;
    });
  }

  get localNames(): string[] {
    return this.entries.filter((e) => e.slot < 0).map((e) => e.name);
  }

  /** Same tensors, shapes and local set as another layout (so optimizer state carries over). */
  sameAs(other: ModelLayout | undefined): boolean {
    if (!other || other.entries.length !== this.entries.length) return false;
    return this.entries.every((e, i) => {
      const o = other.entries[i];
      return o.name === e.name && o.slot === e.slot && o.size === e.size;
    });
  }

  /**
   * True when `weights` may take the next aggregated tensors: the same names and
   * sizes as this layout, no array sharing memory with `global`, and no two of
   * its aggregated arrays overlapping.
   */
  recyclable(weights: NamedWeights, global: NamedWeights): boolean {
    if (weights.length !== this.entries.length) return false;
    const taken = new Map<ArrayBufferLike, Array<[number, number]>>();
    for (const t of global) taken.set(t.values.buffer, [[0, Infinity]]);
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      const v = weights[i]?.values;
      if (weights[i]?.name !== e.name || !(v instanceof Float32Array) || v.length !== e.size) return false;
      if (e.slot < 0) continue;
      const start = v.byteOffset;
      const end = start + v.byteLength;
      const ranges = taken.get(v.buffer) ?? [];
      if (ranges.some(([a, b]) => start < b && a < end)) return false;
      ranges.push([start, end]);
      taken.set(v.buffer, ranges);
    }
    return true;
  }

  /** The global's aggregated tensors, in slot order. */
  slotsOf(global: NamedWeights): Float32Array[] {
    const out: Float32Array[] = [];
    for (let i = 0; i < this.entries.length; i++) if (this.entries[i].slot >= 0) out.push(global[i].values);
    return out;
  }

  /**
   * The update's aggregated tensors in slot order. Tensors kept local may be
   * present (they are ignored) or absent. Throws AggregationError otherwise.
   */
  arrange(update: ClientUpdate): Float32Array[] {
    const who = `Update from ${update.hospitalId}`;
    if (!Array.isArray(update.weights)) throw new AggregationError('bad_update', `${who}: expected a list of named tensors`);
    const slots = new Array<Float32Array | undefined>(this.slotSizes.length);
    let filled = 0;
    for (const t of update.weights) {
      const e = this.byName.get(t.name);
      if (!e) throw new AggregationError('shape_mismatch', `${who}: unknown tensor ${t.name}; the global model has no tensor of that name`);
      if (e.slot < 0) continue;
      if (slots[e.slot]) throw new AggregationError('shape_mismatch', `${who}: tensor ${t.name} appears twice`);
      if (t.shape.length !== e.shape.length || t.shape.some((d, k) => d !== e.shape[k])) {
        throw new AggregationError('shape_mismatch', `${who}: expected ${t.name} to have shape ${shapeText(e.shape)}, but got ${shapeText(t.shape)}`);
      }
      if (!(t.values instanceof Float32Array)) {
        throw new AggregationError('bad_update', `${who}: expected ${t.name} to hold a Float32Array, but got ${Object.prototype.toString.call(t.values)}`);
      }
      if (t.values.length !== e.size) {
        throw new AggregationError('shape_mismatch', `${who}: expected ${e.size} values for ${t.name}, but got ${t.values.length}`);
      }
      slots[e.slot] = t.values;
      filled++;
    }
    if (filled !== slots.length) {
      const missing = this.slotNames.filter((_, s) => !slots[s]);
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
      throw new AggregationError('shape_mismatch', `${who}: missing tensor ${missing[0]}${more}; expected ${slots.length} aggregated tensors, got ${filled}`);
    }
    return slots as Float32Array[];
  }

  /** New global weights: aggregated slots from `slots` (taken as they are), local tensors copied from `global`. */
  assemble(global: NamedWeights, slots: Float32Array[]): NamedWeights {
    return this.entries.map((e, i) => ({
      name: e.name,
      shape: [...e.shape],
      values: e.slot >= 0 ? slots[e.slot] : new Float32Array(global[i].values),
    }));
  }
}
