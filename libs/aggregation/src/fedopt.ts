import { StatefulFedAvg, streamingParams, type FedAvgOptions } from './fedavg';
import { decay, rate } from './params';
import type { BuildOptions } from './registry';
import { ServerState } from './server-state';

export interface FedOptParams {
  /** Server learning rate η. */
  eta: number;
  /** First-moment decay β₁. */
  beta1: number;
  /** Second-moment decay β₂ (unused by FedAdagrad). */
  beta2: number;
  /** Adaptivity τ: added to √v; v starts at τ². */
  tau: number;
}

/**
 * Adaptive federated optimization (Reddi et al. 2021, Algorithm 2): with
 * Δ = mean − x, m ← β₁·m + (1 − β₁)·Δ, v ← rule(v, Δ²), x ← x + η·m / (√v + τ).
 * m starts at 0 and v at τ²; no bias correction, as in the paper.
 */
export abstract class FedOpt extends StatefulFedAvg {
  protected readonly state = new ServerState(['m', 'v']);

  constructor(
    readonly params: FedOptParams,
    options: FedAvgOptions = {},
  ) {
    super(options);
  }

  /** The second-moment rule: the new v from the old v and Δ². */
  protected abstract secondMoment(v: number, delta2: number, beta2: number): number;

  protected override serverStep(global: Float32Array[], mean: Float32Array[], names: readonly string[]): Float32Array[] {
    const { eta, beta1, beta2, tau } = this.params;
    const { get } = this.state.ensure(
      names,
      global.map((g) => g.length),
      (kind) => (kind === 'v' ? tau * tau : 0),
    );
    const ms = get('m');
    const vs = get('v');
    for (let s = 0; s < global.length; s++) {
      const x = global[s];
      const out = mean[s];
      const m = ms[s];
      const v = vs[s];
      for (let i = 0; i < x.length; i++) {
        const d = out[i] - x[i];
        const mi = beta1 * m[i] + (1 - beta1) * d;
        const vi = this.secondMoment(v[i], d * d, beta2);
        m[i] = mi;
        v[i] = vi;
        out[i] = x[i] + (eta * mi) / (Math.sqrt(vi) + tau);
      }
    }
    return mean;
  }
}

/** The parameters of the adaptive rules, with their defaults. */
export function fedOptParams(eta: number, beta1: number, tau: number) {
  return {
    ...streamingParams,
    /** Server learning rate η. */
    eta: rate.default(eta),
    beta1: decay.default(beta1),
    beta2: decay.default(0.99),
    /** Adaptivity τ (Reddi et al. suggest 1e-3). */
    tau: rate.default(tau),
  };
}

/** Builds an adaptive rule from its parsed config. */
export function createFedOpt(
  Rule: new (params: FedOptParams, options: FedAvgOptions) => FedOpt,
  config: FedOptParams & { groupUpdates: number },
  options: BuildOptions,
): FedOpt {
  const { eta, beta1, beta2, tau, groupUpdates } = config;
  return new Rule({ eta, beta1, beta2, tau }, { ...options, groupUpdates });
}
