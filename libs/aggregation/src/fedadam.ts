import { FedOpt } from './fedopt';

/** FedAdam: v ← β₂·v + (1 − β₂)·Δ². */
export class FedAdam extends FedOpt {
  override readonly name = 'fedadam';

  protected secondMoment(v: number, delta2: number, beta2: number): number {
    return beta2 * v + (1 - beta2) * delta2;
  }
}
