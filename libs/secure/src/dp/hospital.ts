// A hospital's half of client-level DP-FedAvg (McMahan et al. 2018): clip the
// update's L2 norm, weight it, and (distributed DP) add its share of the noise.
import { SecureError } from '../errors';
import { addGaussian, gaussian, type RandomSource } from '../random';
import { l2Norm, scaleInPlace } from './clip';

/** What the coordinator tells each hospital for one round (the same for all). */
export interface DpHospitalParams {
  /** L2 clipping norm C of this round. */
  clip: number;
  /** Weight = min(examples / weightCap, 1); without a cap every hospital weighs 1. */
  weightCap?: number;
  /** Standard deviation of the Gaussian noise this hospital adds to each value (distributed DP), 0 for central DP. */
  noiseStd: number;
  /** With adaptive clipping: the standard deviation of the noise on this hospital's clipping indicator (distributed DP), 0 for central DP. */
  indicatorNoiseStd?: number;
}

/** What a hospital learns about its own update (it sends `indicator` only inside the secure sum). */
export interface PrivatisedUpdate {
  /** ‖update‖₂ before clipping. */
  norm: number;
  /** Whether the clip shortened it. */
  clipped: boolean;
  weight: number;
  /** With adaptive clipping: +1/2 if the norm was within the clip, −1/2 if not, plus noise (Andrew et al. 2021). */
  indicator?: number;
}

/**
 * update ← weight·clip_C(update) + N(0, noiseStd²) in place. The sum over
 * hospitals then has L2 sensitivity C to any one hospital (weights ≤ 1), which
 * is what the accountant assumes.
 */
export function privatiseUpdate(update: Float32Array | Float64Array, examples: number, params: DpHospitalParams, random: RandomSource): PrivatisedUpdate {
  const { clip, weightCap, noiseStd, indicatorNoiseStd } = params;
  if (!(clip > 0 && Number.isFinite(clip))) throw new SecureError('bad_config', `Expected a finite clip > 0, got ${clip}`);
  if (!(noiseStd >= 0 && Number.isFinite(noiseStd))) throw new SecureError('bad_config', `Expected a noise standard deviation ≥ 0, got ${noiseStd}`);
  if (weightCap !== undefined && !(weightCap > 0)) throw new SecureError('bad_config', `Expected a weight cap > 0, got ${weightCap}`);
  if (!(examples >= 0)) throw new SecureError('bad_config', `Expected a count of examples ≥ 0, got ${examples}`);
  const norm = l2Norm(update);
  if (!Number.isFinite(norm)) throw new SecureError('not_finite', `The update's norm is ${norm}: it holds NaN or infinite values`);
  const weight = weightCap === undefined ? 1 : Math.min(examples / weightCap, 1);
  const clipped = norm > clip;
  scaleInPlace(update, (clipped ? clip / norm : 1) * weight);
  addGaussian(update, noiseStd, random);
  const out: PrivatisedUpdate = { norm, clipped, weight };
  if (indicatorNoiseStd !== undefined) out.indicator = (clipped ? -0.5 : 0.5) + (indicatorNoiseStd > 0 ? gaussian(indicatorNoiseStd, random) : 0);
  return out;
}
