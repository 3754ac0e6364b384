import { z } from 'zod';

/**
 * The loss hospitals train with (FitConfig.localLoss). It changes only local
 * training: evaluation, calibration and prediction use the model's own outputs.
 * - `ce`: softmax cross-entropy of the model's logits z.
 * - `logit-adjusted`: cross-entropy of z_c + τ·log(prior_c + ε), with prior the
 *   class shares of the epoch the hospital trains on (after its balancing):
 *   logit adjustment (FedLC) / balanced softmax. A class the hospital lacks gets
 *   a large negative shift, so its logit is no longer pushed down.
 * - `restricted`: cross-entropy of z with the logits of the classes the hospital
 *   lacks multiplied by `scale` (FedRS's restricted softmax).
 */
export const LocalLossSchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('ce') }),
  z.strictObject({ name: z.literal('logit-adjusted'), tau: z.number().finite().min(0).max(10).default(1) }),
  z.strictObject({ name: z.literal('restricted'), scale: z.number().finite().min(0).max(1).default(0.5) }),
]);
export type LocalLoss = z.infer<typeof LocalLossSchema>;

/** What a hospital trains with when a fit message names no loss (a coordinator that predates the field). */
export const DEFAULT_LOCAL_LOSS: LocalLoss = { name: 'ce' };

/**
 * A run's loss when its configuration names none. With a softmax output,
 * restricted softmax (scale 0.5): at a hospital that has every class it is
 * plain cross-entropy, bit for bit, so it changes training only where a
 * hospital lacks a class, where it raised the federation's accuracy
 * (docs/EXPERIMENTS.md, "Restricted softmax as the default"). With a sigmoid
 * output, cross-entropy: the other losses act on softmax logits.
 */
export function defaultLocalLoss(output: 'softmax' | 'sigmoid'): LocalLoss {
  return output === 'softmax' ? { name: 'restricted', scale: 0.5 } : { name: 'ce' };
}

export const LOCAL_LOSS_NAMES = ['ce', 'logit-adjusted', 'restricted'] as const;

/** The flag form: `ce`, `logit-adjusted[:τ]` or `restricted[:scale]`. Throws a message listing the valid forms. */
export function parseLocalLoss(text: string): LocalLoss {
  const [name, value, extra] = text.split(':');
  const forms = 'ce, logit-adjusted[:τ] (τ in [0, 10]) or restricted[:scale] (scale in [0, 1])';
  const n = value === undefined ? undefined : Number(value);
  const bad = () => new Error(`Expected the local loss to be ${forms}, but got ${text}`);
  if (extra !== undefined || (value !== undefined && (value.trim() === '' || !Number.isFinite(n)))) throw bad();
  const r = LocalLossSchema.safeParse(
    name === 'logit-adjusted' ? { name, ...(n === undefined ? {} : { tau: n }) } : name === 'restricted' ? { name, ...(n === undefined ? {} : { scale: n }) } : value === undefined ? { name } : {},
  );
  if (!r.success) throw bad();
  return r.data;
}

/** The flag form of a local loss (parseLocalLoss's inverse). */
export function formatLocalLoss(l: LocalLoss): string {
  return l.name === 'logit-adjusted' ? `logit-adjusted:${l.tau}` : l.name === 'restricted' ? `restricted:${l.scale}` : 'ce';
}
