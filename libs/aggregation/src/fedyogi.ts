import { createFedOpt, FedOpt, fedOptParams } from './fedopt';
import { defineStrategy } from './registry';

/** FedYogi: v ← v − (1 − β₂)·Δ²·sign(v − Δ²). */
export class FedYogi extends FedOpt {
  override readonly name = 'fedyogi';

  protected secondMoment(v: number, delta2: number, beta2: number): number {
    return v - (1 - beta2) * delta2 * Math.sign(v - delta2);
  }
}

export const fedyogiStrategy = defineStrategy({
  name: 'fedyogi',
  description: 'adaptive server step, v ← v − (1−β₂)Δ²·sign(v − Δ²) (Reddi et al. 2021)',
  params: fedOptParams(0.01, 0.9, 1e-3),
  needsIndividualUpdates: false,
  weightedMean: true,
  create: (config, options) => createFedOpt(FedYogi, config, options),
});
