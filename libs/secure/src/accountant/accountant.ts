// Privacy spent over a run: RDP adds up over rounds, and converts to (ε, δ) at the end.
import { SecureError } from '../errors';
import { DEFAULT_ORDERS, checkMechanism, computeRdp, rdpToEpsilon } from './rdp';

/** Rounds of the same mechanism: noise multiplier z, sampling rate q. */
export interface MechanismSteps {
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
}

/** What the privacy of a run stands at. */
export interface PrivacySpent {
  epsilon: number;
  delta: number;
  /** The RDP order the bound came from. */
  order: number;
  /** Rounds accounted for. */
  rounds: number;
}

/**
 * Rényi-DP accountant of client-level DP-FedAvg: each round is one sampled
 * Gaussian mechanism (q = fraction of hospitals sampled, Poisson-style; 1 when
 * all take part), rounds compose by adding RDP. Steps with the same (z, q) are
 * merged, as Opacus's RDPAccountant does.
 */
export class RdpAccountant {
  private readonly history: MechanismSteps[] = [];

  constructor(readonly orders: readonly number[] = DEFAULT_ORDERS) {
    if (orders.length === 0) throw new SecureError('bad_config', 'Expected at least one RDP order');
  }

  /** Records `steps` rounds with noise multiplier z and sampling rate q. */
  step(noiseMultiplier: number, sampleRate: number, steps = 1): void {
    checkMechanism(sampleRate, noiseMultiplier, steps);
    const last = this.history.at(-1);
    if (last && last.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate) last.steps += steps;
    else this.history.push({ noiseMultiplier, sampleRate, steps });
  }

  /** Rounds recorded so far. */
  get rounds(): number {
    return this.history.reduce((n, h) => n + h.steps, 0);
  }

  /** The recorded mechanisms, oldest first. */
  get steps(): readonly MechanismSteps[] {
    return this.history.map((h) => ({ ...h }));
  }

  /** ε at δ for everything recorded (0 before the first round). */
  spent(delta: number): PrivacySpent {
    return this.spentWith(delta, []);
  }

  /**
   * Whether one more round with (z, q) would take ε at δ above `budget`: a
   * coordinator asks before each round and stops cleanly when the answer is yes.
   */
  wouldExceed(budget: number, delta: number, noiseMultiplier: number, sampleRate: number): { exceeds: boolean; epsilonAfter: number } {
    if (!(budget > 0)) throw new SecureError('bad_config', `Expected an ε budget > 0, got ${budget}`);
    const after = this.spentWith(delta, [{ noiseMultiplier, sampleRate, steps: 1 }]);
    return { exceeds: after.epsilon > budget, epsilonAfter: after.epsilon };
  }

  /** Records one round with (z, q), refusing (budget_exceeded) when it would take ε above the budget. */
  stepWithin(budget: number, delta: number, noiseMultiplier: number, sampleRate: number): PrivacySpent {
    const { exceeds, epsilonAfter } = this.wouldExceed(budget, delta, noiseMultiplier, sampleRate);
    if (exceeds) {
      throw new SecureError('budget_exceeded', `One more round (z ${noiseMultiplier}, q ${sampleRate}) would spend ε ${epsilonAfter.toFixed(4)} at δ ${delta}, over the budget ${budget}`);
    }
    this.step(noiseMultiplier, sampleRate);
    return this.spent(delta);
  }

  private spentWith(delta: number, extra: readonly MechanismSteps[]): PrivacySpent {
    if (!(delta > 0 && delta < 1)) throw new SecureError('bad_config', `Expected δ in (0, 1), got ${delta}`);
    const all = [...this.history, ...extra];
    const rounds = all.reduce((n, h) => n + h.steps, 0);
    if (rounds === 0) return { epsilon: 0, delta, order: NaN, rounds: 0 };
    const total = new Array<number>(this.orders.length).fill(0);
    for (const h of all) computeRdp(h.sampleRate, h.noiseMultiplier, h.steps, this.orders).forEach((r, k) => (total[k] += r));
    const { epsilon, order } = rdpToEpsilon(this.orders, total, delta);
    return { epsilon, delta, order, rounds };
  }
}
