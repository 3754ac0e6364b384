import type { NamedWeights } from '@fedxray/protocol';
import { z } from 'zod';
import { RoundStrategy, sameSizes, type FinishedSlots } from './base';
import { CappedSum } from './capped-sum';
import { isBatchNormStatistic } from './batchnorm';
import { AggregationError } from './errors';
import { notFiniteMessage } from './finite';
import type { ModelLayout } from './layout';
import { rate } from './params';
import { defineStrategy, type BuildOptions } from './registry';
import type { ClientUpdate, RefusedUpdate } from './strategy';
import type { ServerState } from './server-state';
import { WeightedSum } from './weighted-sum';

/** Updates folded per pass unless configured: a round of up to 16 hospitals is folded in one pass over the accumulator (docs/AGGREGATION.md). */
export const DEFAULT_GROUP_UPDATES = 16;

export interface FedAvgOptions extends BuildOptions {
  /** Updates folded per pass over the accumulator; up to this many are held by reference. See WeightedSum. */
  groupUpdates?: number;
  /** FedAvg's server learning rate η (see FedAvg); absent: 1. */
  serverLearningRate?: number;
}

/** The parameters of every streaming strategy. */
export const streamingParams = {
  /** Updates folded per pass over the accumulator (up to this many are held). @default 16 */
  groupUpdates: z.number().int().min(1).max(64).default(DEFAULT_GROUP_UPDATES),
};

/**
 * FedAvg (McMahan et al. 2017): the example-weighted mean of the updates,
 * accumulated in float64 as they arrive; memory O(model) whatever the number of hospitals.
 * With a server learning rate η ≠ 1 the global model moves η times the mean
 * update, x ← x + η·(mean − x) (FedAvg with server step size, Reddi et al. 2021;
 * FedAvgM with β = 0); BatchNorm moving statistics take the mean itself, since
 * they are measured, not trained (extrapolating a variance can make it negative).
 * With `maxWeight`, no hospital's share exceeds it (CappedSum: exact, holding
 * at most `maxCut(maxWeight)` updates). An update with a NaN or ±Inf value is
 * left out: found by the fold and listed in `RoundResult.refused` (with
 * `maxWeight`, scanned and refused at `accumulate`).
 */
export class FedAvg extends RoundStrategy {
  readonly name: string = 'fedavg';
  readonly streaming = true;
  private sum: WeightedSum | undefined;
  private capped: CappedSum | undefined;
  /** intake()'s maps, one per slot of the sum (its arrays are made once), for the current layout's names. */
  private intakeMaps = new WeakMap<Float32Array[], ReadonlyMap<string, Float32Array>>();
  private intakeNames: readonly string[] = [];

  constructor(protected override readonly options: FedAvgOptions = {}) {
    super(options);
  }

  protected onBegin(layout: ModelLayout): void {
    if (!this.sum || !sameSizes(this.sum.sizes, layout.slotSizes)) {
      this.sum?.dispose();
      this.sum = undefined; // let the old accumulator go before allocating the new one
      this.sum = new WeightedSum(layout.slotSizes, { group: this.options.groupUpdates ?? DEFAULT_GROUP_UPDATES, backend: this.options.backend });
      this.capped = this.options.maxWeight === undefined ? undefined : new CappedSum(this.sum, this.options.maxWeight);
    } else {
      this.sum.reset();
      this.capped?.reset();
    }
    const names = layout.slotNames;
    if (names.length !== this.intakeNames.length || names.some((n, s) => n !== this.intakeNames[s])) {
      this.intakeMaps = new WeakMap();
      this.intakeNames = names;
    }
  }

  override intake(): ReadonlyMap<string, Float32Array> | null {
    const layout = this.requireRound();
    const arrays = this.sum!.intake();
    if (!arrays) return null;
    let map = this.intakeMaps.get(arrays);
    if (!map) {
      map = new Map(layout.slotNames.map((name, s) => [name, arrays[s]]));
      this.intakeMaps.set(arrays, map);
    }
    return map;
  }

  /** The update's id in the sum is its place among the round's accepted updates (`used`). */
  protected onUpdate(update: ClientUpdate, slots: Float32Array[]): void {
    if (!this.capped) {
      this.sum!.add(slots, update.examples, this.used.length);
      return;
    }
    // the shares are set by every count at the end: an update must be refused before it counts
    const bad = this.sum!.nonFinite(slots);
    if (bad) throw new AggregationError('not_finite', notFiniteMessage(update.hospitalId, bad, this.layout!.slotNames));
    this.capped.add(slots, update.examples, this.used.length);
  }

  protected onFinish(globalSlots: Float32Array[], into?: Float32Array[]): FinishedSlots {
    const { mean, refused } = this.capped ? this.capped.result(into) : this.sum!.result(into);
    const names = this.layout!.slotNames;
    const refusedUpdates: RefusedUpdate[] = refused.map((r) => ({
      hospitalId: this.used[r.id],
      code: 'not_finite',
      message: notFiniteMessage(this.used[r.id], r, names),
    }));
    if (!mean) {
      // nothing left to average: the round stays open, as if nothing had arrived
      this.forget(this.used);
      throw new AggregationError('no_updates', `Round ${this.round}: every update was refused: ${refusedUpdates.map((r) => r.message).join('; ')}`);
    }
    const gone = new Set(refused.map((r) => r.id));
    const used = this.used.filter((_, i) => !gone.has(i));
    return { slots: this.serverStep(globalSlots, mean, names), used, refused: refusedUpdates };
  }

  /** Server-side optimizer step from the global's tensors and the round's mean (FedAvg: x + η·(mean − x), the mean itself at η = 1). */
  protected serverStep(global: Float32Array[], mean: Float32Array[], names: readonly string[]): Float32Array[] {
    const eta = this.options.serverLearningRate ?? 1;
    if (eta === 1) return mean;
    for (let s = 0; s < mean.length; s++) {
      if (isBatchNormStatistic(names[s])) continue;
      const x = global[s];
      const m = mean[s];
      for (let i = 0; i < m.length; i++) m[i] = x[i] + eta * (m[i] - x[i]);
    }
    return mean;
  }

  retainedBytes(): number {
    return (this.sum?.retainedBytes() ?? 0) + (this.capped?.retainedBytes() ?? 0);
  }

  override dispose(): void {
    this.sum?.dispose();
    this.sum = undefined;
    this.capped = undefined;
  }
}

/**
 * FedAvg with a server optimizer's state (FedAvgM's momentum, FedOpt's
 * moments): counted in retainedBytes, exported with the checkpoint and
 * restored after a restart.
 */
export abstract class StatefulFedAvg extends FedAvg {
  protected abstract readonly state: ServerState;

  override retainedBytes(): number {
    return super.retainedBytes() + this.state.bytes();
  }

  override exportState(): NamedWeights {
    return this.state.export();
  }

  override importState(state: NamedWeights): void {
    this.state.import(state);
  }
}

export const fedavgStrategy = defineStrategy({
  name: 'fedavg',
  description: 'example-weighted mean of the updates (McMahan et al. 2017); the global model moves serverLearningRate times it: x ← x + η·(mean − x)',
  params: { ...streamingParams, serverLearningRate: rate.default(1) },
  needsIndividualUpdates: false,
  weightedMean: true,
  create: (config, options) => new FedAvg({ ...options, groupUpdates: config.groupUpdates, serverLearningRate: config.serverLearningRate }),
});
