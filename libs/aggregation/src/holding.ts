import { RoundStrategy } from './base';
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

  protected onUpdate(update: ClientUpdate, slots: Float32Array[]): void {
    this.held.push({ id: update.hospitalId, examples: update.examples, slots });
  }

  protected onFinish(_global: Float32Array[]): { slots: Float32Array[]; used: string[] } {
    const held = this.held;
    this.held = [];
    return this.combine(held);
  }

  protected abstract combine(held: HeldUpdate[]): { slots: Float32Array[]; used: string[] };

  retainedBytes(): number {
    let n = 0;
    for (const h of this.held) for (const t of h.slots) n += t.byteLength;
    return n;
  }
}
