import { FedOpt } from './fedopt';

/** FedAdagrad: v ← v + Δ². */
export class FedAdagrad extends FedOpt {
  override readonly name = 'fedadagrad';

  protected secondMoment(v: number, delta2: number): number {
    return v + delta2;
  }
}
