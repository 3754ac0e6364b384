import { ProtocolError } from './errors';
import { sizeOf, type NamedWeights } from './weights';

export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

export interface ValidateOptions {
  /** Refuse an update whose L2 distance from `reference` exceeds this. */
  maxNorm?: number;
  /** The weights the update was trained from (for the norm bound). */
  reference?: NamedWeights;
  /** Tensors the sender may leave out (kept local, FedBN). */
  optional?: ReadonlySet<string>;
}

/**
 * Checks an update against the global model's manifest before it may touch
 * the global model: same names in the same order (less any optional ones),
 * same shapes, every value finite, and (optionally) a bounded L2 norm of the
 * change. Throws a ProtocolError that says what was expected and what arrived.
 */
export function validateWeights(expected: readonly ExpectedTensor[], update: NamedWeights, options: ValidateOptions = {}): void {
  const wanted = expected.filter((t) => !options.optional?.has(t.name) || update.some((u) => u.name === t.name));
  if (update.length !== wanted.length) {
    throw new ProtocolError('shape_mismatch', `Expected ${wanted.length} tensors, but got ${update.length}`);
  }
  let sq = 0;
  const ref = options.reference ? new Map(options.reference.map((r) => [r.name, r.values])) : undefined;
  for (let i = 0; i < wanted.length; i++) {
    const e = wanted[i];
    const u = update[i];
    if (u.name !== e.name) {
      throw new ProtocolError('shape_mismatch', `Expected tensor ${i} to be ${e.name}, but got ${u.name}`);
    }
    if (u.shape.length !== e.shape.length || u.shape.some((d, k) => d !== e.shape[k])) {
      throw new ProtocolError('shape_mismatch', `Expected ${e.name} to have shape [${e.shape.join(',')}], but got [${u.shape.join(',')}]`);
    }
    if (u.values.length !== sizeOf(e.shape)) {
      throw new ProtocolError('shape_mismatch', `Expected ${sizeOf(e.shape)} values for ${e.name}, but got ${u.values.length}`);
    }
    const v = u.values;
    const r = ref?.get(u.name);
    for (let k = 0; k < v.length; k++) {
      const x = v[k];
      if (!Number.isFinite(x)) {
        throw new ProtocolError('not_finite', `${e.name}[${k}] is ${x}: every value must be finite`);
      }
      if (r) {
        const d = x - r[k];
        sq += d * d;
      }
    }
  }
  if (options.maxNorm !== undefined && ref) {
    const norm = Math.sqrt(sq);
    if (norm > options.maxNorm) {
      throw new ProtocolError('norm_exceeded', `Update norm ${norm.toPrecision(4)} exceeds the bound ${options.maxNorm}`);
    }
  }
}
