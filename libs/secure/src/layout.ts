// One secure sum carries several things at once: a model update, its weight,
// BatchNorm sums, evaluation counts. A layout names the segments of the word
// vector, packs a hospital's values into it and unpacks the sum.
import { SecAggLayoutSchema, describeZodError, type SecAggLayout, type SecAggSegment } from '@fedxray/protocol';
import { SecureError } from './errors';
import { FixedPoint } from './fixed-point';
import type { RandomSource } from './random';

/** A segment of reals in [−range, range] (fixed point), or of whole counts in [0, max] (exact). */
export type SegmentSpec = SecAggSegment;

interface Placed {
  spec: SegmentSpec;
  offset: number;
  codec?: FixedPoint;
}

const UINT32_MAX = 2 ** 32 - 1;

/**
 * The largest count one hospital may put in a count segment shared by
 * `maxSummands` hospitals (their sum must fit 32 bits). Layout builders cap
 * what hospitals declared at this, so no declaration can make a layout invalid.
 */
export function maxCount(maxSummands: number): number {
  return Math.floor(UINT32_MAX / maxSummands);
}

/** Named segments of one vector of uint32 words, for sums of up to maxSummands hospitals. */
export class SumLayout {
  /** Words in the packed vector. */
  readonly length: number;
  private readonly placed = new Map<string, Placed>();

  constructor(
    segments: readonly SegmentSpec[],
    readonly maxSummands: number,
  ) {
    let offset = 0;
    for (const spec of segments) {
      if (this.placed.has(spec.name)) throw new SecureError('bad_config', `Segment "${spec.name}" appears twice`);
      if (!Number.isInteger(spec.length) || spec.length < 0) throw new SecureError('bad_config', `Segment "${spec.name}": expected a whole length ≥ 0, got ${spec.length}`);
      let codec: FixedPoint | undefined;
      if (spec.kind === 'real') codec = new FixedPoint({ range: spec.range, maxSummands });
      else if (!Number.isInteger(spec.max) || spec.max < 0 || spec.max * maxSummands > UINT32_MAX) {
        throw new SecureError('bad_config', `Segment "${spec.name}": counts up to ${spec.max} from ${maxSummands} hospitals could exceed 2³² − 1; expected max ≤ ${maxCount(maxSummands)}`);
      }
      this.placed.set(spec.name, { spec, offset, codec });
      offset += spec.length;
    }
    this.length = offset;
  }

  /** The layout a coordinator sent (SecAggLayoutSchema), checked. */
  static fromWire(msg: unknown): SumLayout {
    const parsed = SecAggLayoutSchema.safeParse(msg);
    if (!parsed.success) throw new SecureError('bad_message', `Malformed sum layout: ${describeZodError(parsed.error)}`);
    return new SumLayout(parsed.data.segments, parsed.data.maxSummands);
  }

  /** This layout as the coordinator sends it to hospitals. */
  toWire(): SecAggLayout {
    return { segments: [...this.placed.values()].map((p) => ({ ...p.spec })), maxSummands: this.maxSummands };
  }

  /** A segment's description. */
  spec(name: string): SegmentSpec {
    return this.segment(name).spec;
  }

  /** Where a segment starts in the packed vector. */
  offset(name: string): number {
    return this.segment(name).offset;
  }

  /** The fixed point of a real segment. */
  codec(name: string): FixedPoint {
    const p = this.segment(name);
    if (!p.codec) throw new SecureError('bad_config', `Segment "${name}" holds counts, not reals`);
    return p.codec;
  }

  /** One hospital's values, every segment present with its exact length, as one word vector. */
  pack(values: Readonly<Record<string, ArrayLike<number>>>, random: RandomSource): Uint32Array {
    const out = new Uint32Array(this.length);
    const extra = Object.keys(values).filter((k) => !this.placed.has(k));
    if (extra.length > 0) throw new SecureError('bad_config', `Unknown segment(s) ${extra.join(', ')}; expected ${[...this.placed.keys()].join(', ')}`);
    for (const [name, { spec, offset, codec }] of this.placed) {
      const v = values[name];
      if (!v || v.length !== spec.length) throw new SecureError('wrong_length', `Segment "${name}": expected ${spec.length} values, got ${v ? v.length : 'none'}`);
      if (spec.kind === 'real') {
        codec!.encode(v, out, offset, random);
        continue;
      }
      for (let i = 0; i < v.length; i++) {
        const c = v[i];
        if (!Number.isInteger(c) || c < 0 || c > spec.max) throw new SecureError('bad_config', `Segment "${name}": expected whole counts in 0..${spec.max}, got ${c} at ${i}`);
        out[offset + i] = c;
      }
    }
    return out;
  }

  /** The summed segments: reals decoded from fixed point, counts as they are. */
  unpack(sum: Uint32Array, summands: number): Record<string, Float64Array> {
    if (sum.length !== this.length) throw new SecureError('wrong_length', `Expected a sum of ${this.length} words, got ${sum.length}`);
    if (!Number.isInteger(summands) || summands < 1 || summands > this.maxSummands) {
      throw new SecureError('bad_config', `Expected 1..${this.maxSummands} summands, got ${summands}`);
    }
    const out: Record<string, Float64Array> = {};
    for (const [name, { spec, offset, codec }] of this.placed) {
      out[name] = codec ? codec.decode(sum, offset, spec.length) : new Float64Array(sum.subarray(offset, offset + spec.length));
    }
    return out;
  }

  /** Per-value bound on |unpacked − exact sum of clipped values| for n summands: n/s for reals, 0 for counts. */
  errorBound(name: string, summands: number): number {
    const p = this.segment(name);
    return p.codec ? p.codec.sumErrorBound(summands) : 0;
  }

  private segment(name: string): Placed {
    const p = this.placed.get(name);
    if (!p) throw new SecureError('bad_config', `Unknown segment "${name}"; expected one of ${[...this.placed.keys()].join(', ')}`);
    return p;
  }
}
