import { sameSizes } from './base';
import { FedAvg, type FedAvgOptions } from './fedavg';

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
export class FedAvgM extends FedAvg {
  override readonly name = 'fedavgm';
  private momentum: Float32Array[] | undefined;

  constructor(
    readonly params: FedAvgMParams,
    options: FedAvgOptions = {},
  ) {
    super(options);
  }

  protected override serverStep(global: Float32Array[], mean: Float32Array[]): Float32Array[] {
    const { serverLearningRate: eta, serverMomentum: beta } = this.params;
    const sizes = global.map((g) => g.length);
    const fresh = !this.momentum || !sameSizes(this.momentum.map((m) => m.length), sizes);
    if (fresh) this.momentum = sizes.map((n) => new Float32Array(n));
    const momentum = this.momentum!;
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

  override retainedBytes(): number {
    let n = super.retainedBytes();
    for (const m of this.momentum ?? []) n += m.byteLength;
    return n;
  }
}
