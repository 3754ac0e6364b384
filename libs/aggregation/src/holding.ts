import { RoundStrategy, type FinishedSlots } from './base';
import { refuseNonFinite } from './finite';
import type { ModelLayout } from './layout';
import type { ClientUpdate } from './strategy';

/** An update a robust rule keeps until `finish`. */
export interface HeldUpdate {
  id: string;
  examples: number;
  slots: Float32Array[];
}

/**
 * Base of the robust rules: they need every update at once, so they keep a
 * reference to each update's tensors until `finish` (memory O(hospitals × model)).
 */
export abstract class HoldingStrategy extends RoundStrategy {
  readonly streaming = false;
  protected held: HeldUpdate[] = [];

  protected onBegin(_layout: ModelLayout): void {
    this.held = [];
  }

  /** Refuses an update with a NaN or ±Inf value (the rules read every value at `finish`, where one would make the result depend on arrival order). */
  protected onUpdate(update: ClientUpdate, slots: Float32Array[]): void {
    refuseNonFinite(update.hospitalId, slots, this.layout!.slotNames);
    this.held.push({ id: update.hospitalId, examples: update.examples, slots });
  }

  /** Combines what is held; if that throws (too few updates for the rule), the round stays open with every update still held. */
  protected onFinish(_global: Float32Array[]): FinishedSlots {
    const result = this.combine(this.held);
    this.held = [];
    return result;
  }

  protected abstract combine(held: HeldUpdate[]): FinishedSlots;

  retainedBytes(): number {
    let n = 0;
    for (const h of this.held) for (const t of h.slots) n += t.byteLength;
    return n;
  }
}
