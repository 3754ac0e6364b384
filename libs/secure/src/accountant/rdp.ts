// Rényi differential privacy of the sampled Gaussian mechanism (Mironov,
// Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
// Mechanism", arXiv:1908.10530, section 3.3), and its conversion to (ε, δ):
// the same computations as Opacus (opacus/accountants/analysis/rdp.py) and
// TensorFlow Privacy (rdp_accountant.py compute_rdp / get_privacy_spent).
import { SecureError } from '../errors';
import { logAdd, logErfc, logSub } from './log-math';

/** Opacus's RDPAccountant.DEFAULT_ALPHAS: 1.1, 1.2, …, 10.9, then 12, 13, …, 63. */
export const DEFAULT_ORDERS: readonly number[] = [...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10), ...Array.from({ length: 52 }, (_, x) => 12 + x)];

/** log A_α for integer α: the binomial expansion Σᵢ C(α,i) qⁱ(1−q)^{α−i} e^{(i²−i)/2σ²}. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0;
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const s = logBinom + i * Math.log(q) + (alpha - i) * Math.log(1 - q) + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

/** log A_α for fractional α: the two-sided series split at z₀ = σ² log(1/q − 1) + 1/2. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const root2sigma = Math.SQRT2 * sigma;
  // Generalised binomial C(α, i), carried as log|C| and its sign.
  let logCoef = 0;
  let sign = 1;
  for (let i = 0; ; i++) {
    if (i > 0) {
      const factor = (alpha - (i - 1)) / i;
      logCoef += Math.log(Math.abs(factor));
      if (factor < 0) sign = -sign;
    }
    const j = alpha - i;
    const logT0 = logCoef + i * Math.log(q) + j * Math.log(1 - q);
    const logT1 = logCoef + j * Math.log(q) + i * Math.log(1 - q);
    const logE0 = Math.log(0.5) + logErfc((i - z0) / root2sigma);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / root2sigma);
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (sign > 0) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
    if (i > 100_000) throw new SecureError('bad_config', `RDP series did not converge (q ${q}, σ ${sigma}, α ${alpha})`);
  }
  return logAdd(logA0, logA1);
}

/** RDP at order α of one step of the Gaussian mechanism with noise multiplier σ, sampled with probability q. */
function rdpOfStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** Checks the accountant's inputs; refuses out-of-range values by naming the valid range. */
export function checkMechanism(q: number, noiseMultiplier: number, steps: number): void {
  if (!(q >= 0 && q <= 1)) throw new SecureError('bad_config', `Expected a sampling rate q in [0, 1], got ${q}`);
  if (!(noiseMultiplier >= 0 && Number.isFinite(noiseMultiplier))) throw new SecureError('bad_config', `Expected a finite noise multiplier ≥ 0, got ${noiseMultiplier}`);
  if (!Number.isInteger(steps) || steps < 0) throw new SecureError('bad_config', `Expected a whole number of steps ≥ 0, got ${steps}`);
}

/** RDP at each order of `steps` compositions of the sampled Gaussian mechanism (TF Privacy / Opacus compute_rdp). */
export function computeRdp(q: number, noiseMultiplier: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  checkMechanism(q, noiseMultiplier, steps);
  return orders.map((a) => {
    if (!(a > 1)) throw new SecureError('bad_config', `Expected RDP orders > 1, got ${a}`);
    return rdpOfStep(q, noiseMultiplier, a) * steps;
  });
}

/**
 * The smallest ε over the orders such that RDP (α, r) implies (ε, δ)-DP, by
 * ε = r + log(1 − 1/α) − (log δ + log α)/(α − 1) (Balle et al. 2020, Theorem 21;
 * Canonne, Kamath and Steinke 2020, Proposition 12): what Opacus's
 * get_privacy_spent and TF Privacy's _compute_eps use today, with TF Privacy's
 * guards (ε = 0 when δ² ≥ 1 − e^{−r}; orders ≤ 1.01 skipped).
 */
export function rdpToEpsilon(orders: readonly number[], rdp: readonly number[], delta: number): { epsilon: number; order: number } {
  if (orders.length !== rdp.length || orders.length === 0) {
    throw new SecureError('bad_config', `Expected as many RDP values as orders (and at least one), got ${rdp.length} and ${orders.length}`);
  }
  if (!(delta > 0 && delta < 1)) throw new SecureError('bad_config', `Expected δ in (0, 1), got ${delta}`);
  let best = { epsilon: Infinity, order: NaN };
  orders.forEach((a, k) => {
    const r = rdp[k];
    if (!(r >= 0)) throw new SecureError('bad_config', `Expected RDP values ≥ 0, got ${r} at order ${a}`);
    let eps: number;
    if (delta * delta + Math.expm1(-r) >= 0) eps = 0;
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Infinity;
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  });
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}
