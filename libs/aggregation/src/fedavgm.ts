import { StatefulFedAvg, streamingParams, type FedAvgOptions } from './fedavg';
import { decay, rate } from './params';
import { defineStrategy } from './registry';
import { ServerState } from './server-state';

export interface FedAvgMParams {
  /** Server learning rate η. */
  serverLearningRate: number;
  /** Server momentum β. */
  serverMomentum: number;
}

/**
 * FedAvgM (Hsu et al. 2019), as Flower computes it: pseudo-gradient g = x − mean,
 * momentum v ← β·v + g (v = g in the first round), x ← x − η·v.
 */
export class FedAvgM extends StatefulFedAvg {
  override readonly name = 'fedavgm';
  protected readonly state = new ServerState(['momentum']);

  constructor(
    readonly params: FedAvgMParams,
    options: FedAvgOptions = {},
  ) {
    super(options);
  }

  protected override serverStep(global: Float32Array[], mean: Float32Array[], names: readonly string[]): Float32Array[] {
    const { serverLearningRate: eta, serverMomentum: beta } = this.params;
    const { fresh, get } = this.state.ensure(
      names,
      global.map((g) => g.length),
      () => 0,
    );
    const momentum = get('momentum');
    for (let s = 0; s < global.length; s++) {
      const x = global[s];
      const avg = mean[s];
      const v = momentum[s];
      const n = x.length;
      for (let i = 0; i < n; i++) {
        const g = x[i] - avg[i];
        const vi = beta > 0 ? (fresh ? g : beta * v[i] + g) : g;
        v[i] = vi;
        avg[i] = x[i] - eta * vi;
      }
    }
    return mean;
  }
}

export const fedavgmStrategy = defineStrategy({
  name: 'fedavgm',
  description: 'FedAvg with server momentum: v ← β·v + (x − mean), x ← x − η·v (Hsu et al. 2019)',
  params: { ...streamingParams, serverLearningRate: rate.default(1), serverMomentum: decay.default(0.9) },
  needsIndividualUpdates: false,
  weightedMean: true,
  create: ({ serverLearningRate, serverMomentum, groupUpdates }, options) => new FedAvgM({ serverLearningRate, serverMomentum }, { ...options, groupUpdates }),
});
