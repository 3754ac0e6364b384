import { FedAvg, type FedAvgOptions } from './fedavg';
import type { FitInstructions } from './strategy';

/**
 * FedProx (Li et al. 2020): aggregates like FedAvg; hospitals add (μ/2)·‖w − w_global‖²
 * to their local loss. μ travels to them in FitConfig.proximalMu.
 */
export class FedProx extends FedAvg {
  override readonly name = 'fedprox';

  constructor(
    readonly proximalMu: number,
    options: FedAvgOptions = {},
  ) {
    super(options);
  }

  override fitConfig(_round: number): FitInstructions {
    return { proximalMu: this.proximalMu };
  }
}
