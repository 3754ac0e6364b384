import type { NamedWeights } from '@fedxray/protocol';
import type { AggregationErrorCode } from './errors';

/** One hospital's trained weights for the round, with the number of examples it trained on. */
export interface ClientUpdate {
  hospitalId: string;
  examples: number;
  weights: NamedWeights;
}

/** What hospitals must apply locally during `fit`. */
export interface FitInstructions {
  /** FedProx proximal term μ (absent: no proximal term). */
  proximalMu?: number;
}

/** An update accepted by `accumulate` but left out at `finish` (see RoundResult.refused). */
export interface RefusedUpdate {
  hospitalId: string;
  code: AggregationErrorCode;
  /** What was expected and what arrived, e.g. `Update from h3: dense/kernel[12] is NaN; every value must be finite`. */
  message: string;
}

export interface RoundResult {
  /** The new global weights, in the order of the global passed to `begin`: fresh arrays, or the `recycle` arrays when they were used. */
  weights: NamedWeights;
  /** hospitalIds whose updates shaped the result (Krum: the selected ones only; never a refused one). */
  used: string[];
  /**
   * Updates `accumulate` took but `finish` left out: a streaming strategy finds a
   * NaN or ±Inf value while folding, where it reads the values anyway
   * (docs/AGGREGATION.md, "Refusals"). Empty for the others, which refuse at `accumulate`.
   */
  refused: RefusedUpdate[];
  /** True when the aggregated tensors were written into the arrays of `FinishOptions.recycle`. */
  recycled: boolean;
}

export interface FinishOptions {
  /**
   * Weights the caller no longer uses (typically the global model of two rounds
   * ago), same names and shapes as the round's global: the strategy may write
   * the new aggregated tensors into their arrays instead of allocating fresh
   * ones, which spares the process the page faults of 30 MB of new memory a round.
   * Not used (and left untouched) when any name or shape differs, or when any
   * of its arrays shares memory with the round's global or with another of its
   * arrays. Streaming strategies use it; the robust ones allocate. A `finish`
   * that throws because the fold refused every update may have written there.
   */
  recycle?: NamedWeights;
}

/**
 * A federated aggregation strategy, driven one round at a time:
 * `begin` → `accumulate` per arriving update → `finish`.
 * Modelled on Flower's `Strategy`, but updates are folded as they arrive.
 */
export interface Strategy {
  readonly name: string;
  /**
   * True when the strategy folds each update into O(model) state and keeps no
   * per-update copy; false for robust rules (median, trimmed mean, Krum) that
   * need every update at once and hold them until `finish`.
   */
  readonly streaming: boolean;
  /** What hospitals must apply locally (e.g. FedProx μ). */
  fitConfig(round: number): FitInstructions;
  /** Names in `weights` that hospitals keep local and this strategy never aggregates (FedBN). */
  localTensorNames(weights: NamedWeights): string[];
  /** Start a round from the current global weights. */
  begin(round: number, global: NamedWeights): void;
  /**
   * Where to decode the next update (optional, streaming strategies): arrays for
   * the aggregated tensors, by name, in the strategy's own memory, so that
   * `accumulate` of an update decoded into them copies nothing. Valid until that
   * `accumulate` (or the next `intake`, if the update is refused instead). Null
   * when the strategy has none: decode anywhere.
   */
  intake(): ReadonlyMap<string, Float32Array> | null;
  /** Fold one update in as it arrives. Throws AggregationError for a malformed update, leaving the round as it was. */
  accumulate(update: ClientUpdate): void;
  /** Finish the round: new global weights (fresh arrays, or `options.recycle`'s). Throws AggregationError if no update arrived. */
  finish(options?: FinishOptions): RoundResult;
  /** Bytes this strategy holds now: accumulators, server-optimizer state, and updates it keeps. */
  retainedBytes(): number;
  /**
   * Server optimizer state to checkpoint with the global model after `finish`
   * (FedAdam/FedYogi/FedAdagrad m and v, FedAvgM momentum; empty for the others).
   */
  exportState(): NamedWeights;
  /** Restores what `exportState` returned, after a restart, before the next `begin`. */
  importState(state: NamedWeights): void;
  /** Releases what the strategy holds outside the JavaScript heap (FedAvg's helper thread and its memory). */
  dispose(): void;
}

/** Options every strategy takes from its caller (not from the config file). */
export interface StrategyOptions {
  /** Tensors hospitals keep local (FedBN): excluded from aggregation; the global keeps its values. */
  keepLocal?: (tensorName: string) => boolean;
  /** Which weighted-sum engine to use; `wasm` (SIMD) unless unavailable. */
  backend?: 'wasm' | 'js';
  /**
   * How many updates every round will aggregate, when the caller knows it: a
   * strategy that cannot work with that many (Krum with n ≤ 2f + 2) is refused at creation.
   */
  updatesPerRound?: number;
}
