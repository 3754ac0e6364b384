// The privacy flags `simulate`, `tune` and `coordinator` share: secure
// aggregation and client-level differential privacy (docs/PRIVACY.md), and
// the coordinator config they make.
import { Option } from 'commander';
import { z } from 'zod';
import { UsageError, parseFloatOption } from '../usage';

const VARIANTS = ['auto', 'secagg', 'secagg+'] as const;

/** The privacy flags, as commander gives them (camelCase). */
export interface PrivacyFlags {
  secureAggregation?: boolean;
  secaggVariant?: (typeof VARIANTS)[number];
  dpNoiseMultiplier?: number;
  dpClip?: number;
  dpAdaptiveClip?: boolean;
  dpDelta?: number;
  dpEpsilonBudget?: number;
}

/** Each flag, and what a --config file may give for it. */
export const PRIVACY_OPTIONS: { option: Option; file: z.ZodType }[] = [
  { option: new Option('--secure-aggregation', 'the coordinator learns only the sum of the hospitals’ updates (SecAgg; docs/PRIVACY.md)'), file: z.boolean() },
  { option: new Option('--secagg-variant <name>', 'secagg (every pair of hospitals), secagg+ (a sparse random graph) or auto (secagg+ above 16 hospitals)').choices(VARIANTS), file: z.enum(VARIANTS) },
  { option: new Option('--dp-noise-multiplier <z>', 'client-level DP-FedAvg: Gaussian noise N(0, z²C²) on the sum of updates').argParser(parseFloatOption('--dp-noise-multiplier')), file: z.number().nonnegative() },
  { option: new Option('--dp-clip <C>', 'DP: each hospital clips its update’s L2 norm to C (the starting clip with --dp-adaptive-clip)').argParser(parseFloatOption('--dp-clip')), file: z.number().positive() },
  { option: new Option('--dp-adaptive-clip', 'DP: the clip follows the median update norm (Andrew et al. 2021); starts at --dp-clip or 1'), file: z.boolean() },
  { option: new Option('--dp-delta <δ>', 'DP: δ of the reported (ε, δ) (default 1e-5)').argParser(parseFloatOption('--dp-delta')), file: z.number().gt(0).lt(1) },
  { option: new Option('--dp-epsilon-budget <ε>', 'DP: refuse a run, or stop before a round, that would spend more than ε').argParser(parseFloatOption('--dp-epsilon-budget')), file: z.number().positive() },
];

/** The coordinator config's `secureAggregation` and `dp` from the flags (only what was asked for). */
export function privacySettings(flags: PrivacyFlags): { secureAggregation?: Record<string, unknown>; dp?: Record<string, unknown> } {
  const out: { secureAggregation?: Record<string, unknown>; dp?: Record<string, unknown> } = {};
  if (flags.secaggVariant && !flags.secureAggregation) throw new UsageError('--secagg-variant chooses the secure-aggregation protocol: give it with --secure-aggregation');
  if (flags.secureAggregation) out.secureAggregation = { enabled: true, ...(flags.secaggVariant ? { variant: flags.secaggVariant } : {}) };
  const dpGiven = [flags.dpClip, flags.dpAdaptiveClip, flags.dpDelta, flags.dpEpsilonBudget].some((v) => v !== undefined);
  if (flags.dpNoiseMultiplier === undefined) {
    if (dpGiven) throw new UsageError('The --dp-* options need --dp-noise-multiplier <z> (0 clips without noise)');
    return out;
  }
  if (flags.dpClip === undefined && !flags.dpAdaptiveClip) throw new UsageError('Differential privacy needs a clip: give --dp-clip <C> or --dp-adaptive-clip');
  out.dp = {
    noiseMultiplier: flags.dpNoiseMultiplier,
    clip: flags.dpClip ?? 1,
    ...(flags.dpAdaptiveClip ? { adaptiveClip: true } : {}),
    ...(flags.dpDelta !== undefined ? { delta: flags.dpDelta } : {}),
    ...(flags.dpEpsilonBudget !== undefined ? { epsilonBudget: flags.dpEpsilonBudget } : {}),
  };
  return out;
}
