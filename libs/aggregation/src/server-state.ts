import type { NamedWeights } from '@fedxray/protocol';
import { AggregationError } from './errors';

/**
 * Per-tensor server optimizer state (FedAdam's m and v, FedAvgM's momentum):
 * one float32 array per kind and aggregated tensor, exportable as named
 * tensors (`<kind>/<tensor name>`) so it can be checkpointed with the model.
 */
export class ServerState {
  private arrays = new Map<string, Float32Array[]>();
  private names: string[] = [];
  private imported: Map<string, Float32Array> | undefined;

  constructor(private readonly kinds: readonly string[]) {}

  /**
   * The arrays for these tensors: restored from an import, kept from the last
   * round, or (when the model changed or nothing is there) created with `init`.
   * `fresh` tells which of the last.
   */
  ensure(names: readonly string[], sizes: readonly number[], init: (kind: string) => number): { fresh: boolean; get: (kind: string) => Float32Array[] } {
    const get = (kind: string) => this.arrays.get(kind)!;
    if (this.imported) {
      const imported = this.imported;
      this.imported = undefined;
      for (const kind of this.kinds) {
        this.arrays.set(
          kind,
          names.map((n, s) => {
            const v = imported.get(`${kind}/${n}`);
            if (!v || v.length !== sizes[s]) {
              throw new AggregationError('bad_config', `Restored server state: expected ${kind}/${n} with ${sizes[s]} values, but got ${v ? v.length : 'none'}`);
            }
            return new Float32Array(v);
          }),
        );
      }
      this.names = [...names];
      return { fresh: false, get };
    }
    const same =
      this.names.length === names.length &&
      this.names.every((n, s) => n === names[s]) &&
      this.kinds.every((k) => this.arrays.get(k)?.every((a, s) => a.length === sizes[s]));
    if (same) return { fresh: false, get };
    this.names = [...names];
    for (const kind of this.kinds) {
      const v = init(kind);
      this.arrays.set(
        kind,
        sizes.map((n) => new Float32Array(n).fill(v)),
      );
    }
    return { fresh: true, get };
  }

  export(): NamedWeights {
    if (this.arrays.size === 0) return [];
    return this.kinds.flatMap((kind) =>
      this.names.map((n, s) => {
        const values = new Float32Array(this.arrays.get(kind)![s]);
        return { name: `${kind}/${n}`, shape: [values.length], values };
      }),
    );
  }

  import(state: NamedWeights): void {
    for (const t of state) {
      if (!this.kinds.some((k) => t.name.startsWith(`${k}/`))) {
        throw new AggregationError('bad_config', `Restored server state: unexpected tensor ${t.name}; expected names starting with ${this.kinds.map((k) => `${k}/`).join(' or ')}`);
      }
    }
    this.imported = state.length > 0 ? new Map(state.map((t) => [t.name, t.values])) : undefined;
    if (!this.imported) {
      this.arrays.clear();
      this.names = [];
    }
  }

  bytes(): number {
    let n = 0;
    for (const list of this.arrays.values()) for (const a of list) n += a.byteLength;
    return n;
  }
}
