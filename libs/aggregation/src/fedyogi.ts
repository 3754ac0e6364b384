import { FedOpt } from './fedopt';

/** FedYogi: v ← v − (1 − β₂)·Δ²·sign(v − Δ²). */
export class FedYogi extends FedOpt {
  override readonly name = 'fedyogi';

  protected secondMoment(v: number, delta2: number, beta2: number): number {
    return v - (1 - beta2) * delta2 * Math.sign(v - delta2);
  }
}
