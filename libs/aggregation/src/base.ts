import type { NamedWeights } from '@fedxray/protocol';
import { AggregationError } from './errors';
import { ModelLayout } from './layout';
import type { ClientUpdate, FinishOptions, FitInstructions, RefusedUpdate, RoundResult, Strategy, StrategyOptions } from './strategy';

/** The most examples an update may claim: counts are integers, and float64 holds every integer up to 2^53 exactly. */
export const MAX_EXAMPLES = 2 ** 53;

/** What a strategy's finishing step returns: the new aggregated tensors, who shaped them, and who was left out. */
export interface FinishedSlots {
  slots: Float32Array[];
  used: string[];
  refused?: RefusedUpdate[];
}

/** Round bookkeeping shared by every strategy: layout, who contributed, refusal of misuse. */
export abstract class RoundStrategy implements Strategy {
  abstract readonly name: string;
  abstract readonly streaming: boolean;
  protected layout: ModelLayout | undefined;
  protected global: NamedWeights | undefined;
  protected round = 0;
  protected used: string[] = [];

  constructor(protected readonly options: StrategyOptions = {}) {}

  fitConfig(_round: number): FitInstructions {
    return {};
  }

  localTensorNames(weights: NamedWeights): string[] {
    const keep = this.options.keepLocal;
    return keep ? weights.filter((t) => keep(t.name)).map((t) => t.name) : [];
  }

  begin(round: number, global: NamedWeights): void {
    const layout = new ModelLayout(global, this.options.keepLocal);
    this.onBegin(layout);
    this.layout = layout;
    this.global = global;
    this.round = round;
    this.used = [];
  }

  intake(): ReadonlyMap<string, Float32Array> | null {
    return null;
  }

  accumulate(update: ClientUpdate): void {
    const layout = this.requireRound();
    if (typeof update?.hospitalId !== 'string' || update.hospitalId === '') {
      throw new AggregationError('bad_update', 'Expected an update with a non-empty hospitalId');
    }
    if (this.used.includes(update.hospitalId)) {
      throw new AggregationError('duplicate_update', `Update from ${update.hospitalId}: this hospital already contributed to round ${this.round}`);
    }
    if (!(typeof update.examples === 'number' && update.examples > 0 && update.examples <= MAX_EXAMPLES)) {
      throw new AggregationError(
        'bad_update',
        `Update from ${update.hospitalId}: expected a positive number of examples, at most 2^53, but got ${String(update.examples)}`,
      );
    }
    const slots = layout.arrange(update);
    this.onUpdate(update, slots);
    this.used.push(update.hospitalId);
  }

  finish(options: FinishOptions = {}): RoundResult {
    const layout = this.requireRound();
    if (this.used.length === 0) throw new AggregationError('no_updates', `Round ${this.round}: no update arrived, nothing to aggregate`);
    const global = this.global!;
    const into = options.recycle && layout.recyclable(options.recycle, global) ? layout.slotsOf(options.recycle) : undefined;
    const { slots, used, refused = [] } = this.onFinish(layout.slotsOf(global), into);
    this.layout = undefined;
    this.global = undefined;
    return { weights: layout.assemble(global, slots), used, refused, recycled: into !== undefined && slots.every((a, s) => a === into[s]) };
  }

  abstract retainedBytes(): number;

  exportState(): NamedWeights {
    return [];
  }

  importState(state: NamedWeights): void {
    if (state.length > 0) throw new AggregationError('bad_config', `${this.name} keeps no server state, but got ${state.length} tensors to restore`);
  }

  dispose(): void {}

  /**
   * Forgets the updates of these hospitals (all of them refused while
   * finishing): they may send again, as if they had never contributed.
   */
  protected forget(hospitalIds: readonly string[]): void {
    this.used = this.used.filter((id) => !hospitalIds.includes(id));
  }

  protected requireRound(): ModelLayout {
    if (!this.layout) throw new AggregationError('not_begun', `${this.name}: call begin(round, global) before accumulate/finish`);
    return this.layout;
  }

  /** A new round starts with this layout (prepare accumulators). */
  protected abstract onBegin(layout: ModelLayout): void;
  /** One accepted update, its aggregated tensors in slot order. */
  protected abstract onUpdate(update: ClientUpdate, slots: Float32Array[]): void;
  /**
   * The new aggregated tensors from the global's current ones: fresh arrays,
   * or `into` (arrays in slot order, safe to overwrite) when the strategy can write there.
   */
  protected abstract onFinish(globalSlots: Float32Array[], into?: Float32Array[]): FinishedSlots;
}

export function sameSizes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
