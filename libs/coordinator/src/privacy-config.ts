// The privacy options of a run (secure aggregation, client-level differential
// privacy) and the combinations they refuse, checked at start-up.
import { z } from 'zod';
import { createStrategy, type StrategyConfig } from '@fedxray/aggregation';
import { RdpAccountant } from '@fedxray/secure';

export const SECURE_VARIANTS = ['auto', 'secagg', 'secagg+'] as const;

export const SecureAggregationConfigSchema = z.strictObject({
  /** The coordinator learns only the sum of the hospitals' updates (SecAgg / SecAgg+). @default false */
  enabled: z.boolean().default(false),
  /** secagg: every hospital shares with every other; secagg+: a sparse random graph; auto: secagg up to 16 hospitals. */
  variant: z.enum(SECURE_VARIANTS).default('auto'),
  /** Shares needed to unmask (more than half of a neighbourhood). @default the smallest majority */
  threshold: z.number().int().min(2).optional(),
  /** Each update value is clipped to ±range before fixed-point quantisation. @default 1 */
  range: z.number().positive().default(1),
  /** How long the coordinator waits for each key-exchange and unmasking stage. */
  stageTimeoutMs: z.number().int().positive().default(30_000),
});
export type SecureAggregationConfig = z.infer<typeof SecureAggregationConfigSchema>;

export const DpConfigSchema = z.strictObject({
  /** z: the noise on the sum of updates is N(0, z²C²). */
  noiseMultiplier: z.number().nonnegative(),
  /** C: each hospital clips its update's L2 norm to C (the starting clip when adaptive). */
  clip: z.number().positive(),
  /** Adaptive clipping (Andrew et al. 2021): C tracks the median update norm. @default false */
  adaptiveClip: z.boolean().default(false),
  /** δ of the reported (ε, δ). @default 1e-5 */
  delta: z.number().gt(0).lt(1).default(1e-5),
  /** Stop before a round would take ε above this. */
  epsilonBudget: z.number().positive().optional(),
  /** Weight = min(examples/weightCap, 1); unset: every hospital weighs 1. */
  weightCap: z.number().positive().optional(),
});
export type DpConfig = z.infer<typeof DpConfigSchema>;

/** What the privacy options need of the rest of the config. */
export interface PrivacyConfigView {
  rounds: number;
  fractionFit: number;
  minFit: number;
  crossSiteEvaluation: boolean;
  /** Frozen layers (`--trainable`, `--schedule`): the sum covers whole-model updates only. */
  trainable?: string;
  schedule?: string;
  secureAggregation: SecureAggregationConfig;
  dp?: DpConfig;
}

/** The round's sampling rate the accountant assumes: fractionFit, 1 when every hospital takes part. */
export function samplingRate(fractionFit: number): number {
  return fractionFit > 0 && fractionFit < 1 ? fractionFit : 1;
}

/** Refusals, each naming what is allowed; empty when the combination works. */
export function privacyConflicts(config: PrivacyConfigView, strategy: StrategyConfig): string[] {
  const problems: string[] = [];
  const summed = config.secureAggregation.enabled || config.dp !== undefined;
  if (!summed) return problems;
  const what = config.secureAggregation.enabled ? 'secure aggregation (--secure-aggregation)' : 'differential privacy (--dp-*)';
  const s = createStrategy(strategy);
  const streaming = s.streaming;
  s.dispose();
  if (!streaming) {
    problems.push(`${what} sums the updates, so strategy ${strategy.name} (which needs each hospital's update) cannot run; use fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad`);
  }
  if (config.trainable || config.schedule) {
    problems.push(`${what} sums whole-model updates, so --trainable and --schedule (frozen layers) are refused with it; train all layers`);
  }
  if (config.secureAggregation.enabled && config.crossSiteEvaluation) {
    problems.push('secure aggregation keeps each hospital\'s model from the coordinator, so cross-site evaluation (--cross-site) is refused; turn one of them off');
  }
  const dp = config.dp;
  if (dp?.epsilonBudget !== undefined && dp.noiseMultiplier > 0) {
    const acc = new RdpAccountant();
    acc.step(dp.noiseMultiplier, samplingRate(config.fractionFit), config.rounds);
    const eps = acc.spent(dp.delta).epsilon;
    if (eps > dp.epsilonBudget) {
      let fit = 0;
      const one = new RdpAccountant();
      while (fit < config.rounds && !one.wouldExceed(dp.epsilonBudget, dp.delta, dp.noiseMultiplier, samplingRate(config.fractionFit)).exceeds) {
        one.step(dp.noiseMultiplier, samplingRate(config.fractionFit));
        fit++;
      }
      problems.push(
        `${config.rounds} rounds at noise multiplier ${dp.noiseMultiplier} spend ε = ${eps.toFixed(3)} (δ = ${dp.delta}), above the budget ${dp.epsilonBudget}: at most ${fit} rounds fit; lower --rounds, raise --dp-noise-multiplier or --dp-epsilon-budget`,
      );
    }
  }
  if (dp?.epsilonBudget !== undefined && dp.noiseMultiplier === 0) problems.push('an ε budget (--dp-epsilon-budget) needs noise: give --dp-noise-multiplier > 0');
  return problems;
}
