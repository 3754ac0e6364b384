// The coordinator's half of client-level DP-FedAvg: noise (central DP), a
// fixed denominator, adaptive clipping, and the noise multiplier the accountant
// records for the round.
import { SecureError } from '../errors';
import { addGaussian, gaussian, type RandomSource } from '../random';
import type { DpHospitalParams } from './hospital';

export const DP_MODES = ['central', 'distributed'] as const;
export type DpMode = (typeof DP_MODES)[number];

/** Adaptive clipping (Andrew et al. 2021, geometric update), as TensorFlow Federated parameterises it. */
export interface AdaptiveClipOptions {
  /** The quantile of update norms the clip tracks. @default 0.5 */
  targetQuantile?: number;
  /** η in C ← C·exp(−η(b̄ − γ)). @default 0.2 */
  learningRate?: number;
  /** σ_b, the noise on the sum of clipping indicators. @default 0.05 × expectedParticipants */
  countStddev?: number;
}

export interface DpFedAvgOptions {
  /** z: the noise on the sum is N(0, z²C²) (with adaptive clipping, z covers both queries). */
  noiseMultiplier: number;
  /** C: the L2 clip (the starting clip when adaptive). */
  clip: number;
  /** central: the coordinator draws the noise (a trusted coordinator); distributed: each hospital adds its share inside the secure sum. */
  mode: DpMode;
  /** Hospitals expected per round: the fixed denominator, and the number of noise shares. */
  expectedParticipants: number;
  /** Weight = min(examples/weightCap, 1); unset: every hospital weighs 1. */
  weightCap?: number;
  /** The fixed denominator of the mean. @default expectedParticipants (a fixed expected total weight when weights are capped) */
  denominator?: number;
  adaptive?: AdaptiveClipOptions;
}

/**
 * DP-FedAvg's server side. The mean the strategy sees is (Σ wᵢ·clip(Δᵢ) + noise) / D
 * with D fixed before the round, never the realised Σ wᵢ: dividing by a
 * data-dependent total would change the sensitivity the accountant assumes.
 */
export class DpFedAvg {
  private clipNow: number;
  private readonly z: number;
  /** z of the update query: z itself, or (z⁻² − (2σ_b)⁻²)^{−1/2} with adaptive clipping. */
  readonly valueNoiseMultiplier: number;
  readonly countStddev: number;
  readonly denominator: number;

  constructor(readonly options: DpFedAvgOptions) {
    const { noiseMultiplier: z, clip, mode, expectedParticipants: n, weightCap, adaptive } = options;
    if (!(z >= 0 && Number.isFinite(z))) throw new SecureError('bad_config', `Expected a noise multiplier ≥ 0, got ${z}`);
    if (!(clip > 0 && Number.isFinite(clip))) throw new SecureError('bad_config', `Expected a clip > 0, got ${clip}`);
    if (!DP_MODES.includes(mode)) throw new SecureError('bad_config', `Expected mode ${DP_MODES.join(' or ')}, got ${String(mode)}`);
    if (!Number.isInteger(n) || n < 1) throw new SecureError('bad_config', `Expected a whole number of expected participants ≥ 1, got ${n}`);
    if (weightCap !== undefined && !(weightCap > 0)) throw new SecureError('bad_config', `Expected a weight cap > 0, got ${weightCap}`);
    this.denominator = options.denominator ?? n;
    if (!(this.denominator > 0)) throw new SecureError('bad_config', `Expected a denominator > 0, got ${this.denominator}`);
    this.z = z;
    this.clipNow = clip;
    if (adaptive) {
      const gamma = adaptive.targetQuantile ?? 0.5;
      if (!(gamma > 0 && gamma < 1)) throw new SecureError('bad_config', `Expected a target quantile in (0, 1), got ${gamma}`);
      if (!((adaptive.learningRate ?? 0.2) >= 0)) throw new SecureError('bad_config', `Expected a clip learning rate ≥ 0, got ${adaptive.learningRate}`);
      this.countStddev = adaptive.countStddev ?? 0.05 * n;
      if (z > 0 && !(z < 2 * this.countStddev)) {
        throw new SecureError('bad_config', `Adaptive clipping needs z < 2σ_b; got z ${z} and σ_b ${this.countStddev}: raise countStddev or lower z`);
      }
      this.valueNoiseMultiplier = z > 0 ? (z ** -2 - (2 * this.countStddev) ** -2) ** -0.5 : 0;
    } else {
      this.countStddev = 0;
      this.valueNoiseMultiplier = z;
    }
  }

  /** The clip of the coming round. */
  get clip(): number {
    return this.clipNow;
  }

  /** Standard deviation of the noise on the summed update: z_v·C. */
  get sumNoiseStd(): number {
    return this.valueNoiseMultiplier * this.clipNow;
  }

  /** What every hospital applies this round. */
  hospitalParams(): DpHospitalParams {
    const { mode, expectedParticipants: n, weightCap, adaptive } = this.options;
    const share = mode === 'distributed' ? 1 / Math.sqrt(n) : 0;
    const params: DpHospitalParams = { clip: this.clipNow, noiseStd: this.sumNoiseStd * share };
    if (weightCap !== undefined) params.weightCap = weightCap;
    if (adaptive) params.indicatorNoiseStd = this.countStddev * share;
    return params;
  }

  /** The mean the strategy sees: (sum + central noise) / D, in place. */
  finalise(sum: Float64Array, random: RandomSource): Float64Array {
    if (this.options.mode === 'central') addGaussian(sum, this.sumNoiseStd, random);
    for (let i = 0; i < sum.length; i++) sum[i] /= this.denominator;
    return sum;
  }

  /**
   * Adaptive clipping: from the sum of the hospitals' indicators (±1/2 each,
   * noised by the hospitals in distributed mode, here in central mode), the
   * noisy fraction b̄ of unclipped updates moves the clip: C ← C·exp(−η(b̄ − γ)).
   */
  updateClip(indicatorSum: number, random: RandomSource): { unclippedFraction: number; clip: number } {
    const adaptive = this.options.adaptive;
    if (!adaptive) throw new SecureError('bad_config', 'updateClip() needs adaptive clipping (options.adaptive)');
    if (!Number.isFinite(indicatorSum)) throw new SecureError('not_finite', `Expected a finite indicator sum, got ${indicatorSum}`);
    const noisy = indicatorSum + (this.options.mode === 'central' && this.countStddev > 0 ? gaussian(this.countStddev, random) : 0);
    const fraction = Math.min(1, Math.max(0, noisy / this.options.expectedParticipants + 0.5));
    this.clipNow *= Math.exp(-(adaptive.learningRate ?? 0.2) * (fraction - (adaptive.targetQuantile ?? 0.5)));
    return { unclippedFraction: fraction, clip: this.clipNow };
  }

  /**
   * The noise multiplier the accountant records for a round with `survivors`
   * hospitals. Central: z. Distributed: every hospital added variance z²C²/n,
   * so with m survivors the sum carries z²C²·m/n: z·√(m/n), less than z when
   * hospitals dropped out.
   */
  accountedNoiseMultiplier(survivors: number): number {
    if (this.options.mode === 'central') return this.z;
    return this.z * Math.sqrt(survivors / this.options.expectedParticipants);
  }
}
