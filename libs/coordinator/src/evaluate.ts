// Evaluation: every connected hospital evaluates a model on one of its splits
// and returns a mergeable summary; the valid ones are pooled into exact metrics.
import { encodeWeights, overlayWeights, type EvaluateResult, type NamedWeights } from '@fedxray/protocol';
import { computeMetrics, mergeSummaries, type EvaluationSummary } from '@fedxray/evaluation';
import { checkEvaluation, parseEvaluateResult } from './intake';
import type { JobSpec } from './jobs';
import { pooledMetrics, type Evaluation, type EvaluationPhase } from './phase-types';
import { secureEvaluate } from './secure-phases';
import type { SiteRoundMetrics } from './state';

export type { Evaluation, EvaluationPhase } from './phase-types';

/** Asks every connected hospital to evaluate `weights` on `split`; each summary is checked on arrival. */
export async function collectSummaries(p: EvaluationPhase, round: number, attempt: number, split: 'val' | 'test', weights: NamedWeights): Promise<{ summaries: Map<string, EvaluationSummary>; failed: number; asked: number }> {
  const payload = encodeWeights(weights, { dtype: p.config.fit.weightsDtype });
  const job: JobSpec<EvaluateResult, EvaluationSummary> = {
    kind: 'evaluate',
    round,
    attempt,
    send: (conn) => conn.socket.emit('evaluate', { runId: p.runId, round, split, weights: payload }),
    parse: parseEvaluateResult,
    // a late answer to the previous evaluation of the round (its other split) is stale, not wrong
    answers: (msg) => msg.split === split,
    accept: (conn, msg) => ({ ok: true, value: checkEvaluation(msg, { classes: [...p.classes], split, maxExamples: conn.hello?.examples[split] ?? 0 }) }),
  };
  const targets = p.hub.ready().filter((c) => !p.silent?.has(c.name));
  const results = await p.hub.dispatch(targets, job, p.timeoutMs);
  const summaries = new Map<string, EvaluationSummary>();
  let failed = 0;
  for (const [name, r] of [...results].sort(([a], [b]) => a.localeCompare(b))) {
    if (!r.ok) failed++;
    else if (r.value.count > 0) summaries.set(name, r.value);
  }
  return { summaries, failed, asked: targets.length };
}

/**
 * The global model's metrics over every site's `split`. Under the round's
 * k of n: with no valid summary, or more than maxFailures failed jobs, the
 * evaluation gives no metrics and says why. Never throws for what hospitals sent.
 */
export async function evaluate(p: EvaluationPhase, round: number, attempt: number, split: 'val' | 'test', weights: NamedWeights): Promise<Evaluation> {
  // Under secure aggregation the summaries are summed: the coordinator sees the pooled one only.
  if (p.config.secureAggregation.enabled) return secureEvaluate(p, round, attempt, split, weights);
  const { summaries, failed, asked } = await collectSummaries(p, round, attempt, split, weights);
  const none = { metrics: null, pooled: null, summaries, sites: {} };
  if (summaries.size === 0) return { ...none, error: asked === 0 ? 'no hospital was connected to evaluate' : 'no hospital returned a valid summary' };
  if (failed > p.config.maxFailures) return { ...none, error: `${failed} of ${asked} evaluations failed, more than maxFailures=${p.config.maxFailures}` };
  try {
    const sites: Record<string, SiteRoundMetrics> = {};
    for (const [name, s] of summaries) {
      const m = computeMetrics(s);
      sites[name] = { examples: s.count, loss: m.loss, accuracy: m.accuracy };
    }
    const pooled = mergeSummaries([...summaries.values()]);
    return { metrics: pooledMetrics(pooled), pooled, summaries, sites };
  } catch (err) {
    return { ...none, error: `the metrics could not be computed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Each kept local model evaluated at every connected site: accuracy[model][site] (NaN where a site gave no valid summary); the models share `p.timeoutMs`. */
export async function crossSite(
  p: EvaluationPhase,
  global: NamedWeights,
  models: { owner: string; weights: () => NamedWeights }[],
): Promise<{ models: string[]; sites: string[]; accuracy: number[][] }> {
  const sites = p.hub.ready().map((c) => c.name);
  const accuracy: number[][] = [];
  const deadline = Date.now() + p.timeoutMs;
  for (const [i, { weights }] of models.entries()) {
    // Tensors kept local (FedBN) come from the global model.
    const full = overlayWeights(global, weights());
    const timeoutMs = Math.max(1, Math.round((deadline - Date.now()) / (models.length - i)));
    const { summaries } = await collectSummaries({ ...p, timeoutMs }, p.config.rounds, 1, 'test', full);
    accuracy.push(sites.map((s) => (summaries.has(s) ? computeMetrics(summaries.get(s)!).accuracy : NaN)));
  }
  return { models: models.map((m) => m.owner), sites, accuracy };
}
