import { createFedOpt, FedOpt, fedOptParams } from './fedopt';
import { defineStrategy } from './registry';

/** FedAdagrad: v ← v + Δ². */
export class FedAdagrad extends FedOpt {
  override readonly name = 'fedadagrad';

  protected secondMoment(v: number, delta2: number): number {
    return v + delta2;
  }
}

export const fedadagradStrategy = defineStrategy({
  name: 'fedadagrad',
  description: 'adaptive server step, v ← v + Δ² (Reddi et al. 2021)',
  params: fedOptParams(0.01, 0, 1e-3),
  needsIndividualUpdates: false,
  weightedMean: true,
  create: (config, options) => createFedOpt(FedAdagrad, config, options),
});
