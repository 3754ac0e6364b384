import type { LocalLoss } from '@fedxray/protocol';
import type { LogitTransform } from '@fedxray/model';

/**
 * Added to a class's share before the log in the logit-adjusted loss, so that a
 * class the hospital lacks gets a finite shift: τ·log(1e-4) ≈ −9.2 at τ = 1,
 * far below any present class's (≥ log(1/C) ≈ −2.3 for 10 equal classes).
 */
export const PRIOR_EPSILON = 1e-4;

/**
 * The logit transform a local loss asks for, from the class counts of the epoch
 * the hospital trains on (after its balancing; in the run's class order).
 * Undefined for plain cross-entropy, which keeps the trainer's usual loss, and for a
 * restricted softmax at a hospital that has every class (nothing to restrict).
 */
export function localLogitTransform(loss: LocalLoss, epochCounts: readonly number[]): LogitTransform | undefined {
  if (loss.name === 'ce') return undefined;
  const total = epochCounts.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('The local loss needs the class counts of a non-empty epoch');
  if (loss.name === 'logit-adjusted') {
    return { scale: epochCounts.map(() => 1), shift: epochCounts.map((n) => loss.tau * Math.log(n / total + PRIOR_EPSILON)) };
  }
  // A hospital with every class has nothing to restrict: plain cross-entropy, bit for bit.
  if (epochCounts.every((n) => n > 0)) return undefined;
  return { scale: epochCounts.map((n) => (n > 0 ? 1 : loss.scale)), shift: epochCounts.map(() => 0) };
}
