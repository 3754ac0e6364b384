// What a finished run leaves for people: summary.json and (when the final
// evaluation happened) report.md, both about the final round's global model.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeMetrics, mergeSummaries, writeReport, type EvaluationSummary } from '@fedxray/evaluation';
import type { ModelSpec } from '@fedxray/model';
import type { CoordinatorConfig } from './config';
import type { RunFiles } from './run-files';
import type { RunLedger } from './run-ledger';
import type { RoundRecord } from './state';
import type { JobFailureRow, SiteMetricRow } from './store';

/** The final round's pooled metrics, only if that round was evaluated: no earlier round's numbers pass for final ones. */
export function finalMetrics(ledger: RunLedger, rounds: number): Record<string, number> | null {
  return ledger.round(rounds)?.metrics ?? null;
}

export function buildSummary(o: {
  runId: string;
  spec: ModelSpec;
  config: CoordinatorConfig;
  ledger: RunLedger;
  failedJobs: JobFailureRow[];
}): Record<string, unknown> {
  const { ledger, config } = o;
  const final = finalMetrics(ledger, config.rounds);
  const last = ledger.history.at(-1);
  return {
    runId: o.runId,
    status: ledger.status,
    classes: o.spec.classes,
    model: o.spec,
    strategy: config.strategy,
    initial: ledger.initial?.metrics ?? null,
    // The study's three numbers: train (last round, on training batches), validation and test accuracy of the final model.
    study: {
      trainAccuracy: last?.fit.accuracy ?? null,
      validationAccuracy: ledger.validation && final ? computeMetrics(ledger.validation).accuracy : null,
      testAccuracy: final?.accuracy ?? null,
    },
    rounds: ledger.history.map((h) => ({
      round: h.round,
      durationMs: h.durationMs,
      metrics: h.metrics,
      evaluationError: h.evaluationError,
      fit: h.fit,
      transport: h.fit.transport ?? null,
      sites: h.sites,
      failedJobs: h.failedJobs,
    })),
    /** The round `final` comes from: the last one, or null when its evaluation did not happen. */
    /** Fit-phase weight bytes over every round: global models sent, updates received. */
    transport: {
      uploadBytes: ledger.history.reduce((n, h) => n + (h.fit.transport?.uploadBytes ?? 0), 0),
      downloadBytes: ledger.history.reduce((n, h) => n + (h.fit.transport?.downloadBytes ?? 0), 0),
    },
    startingWeights: ledger.startingWeights,
    finalRound: final ? config.rounds : null,
    final,
    failedJobs: o.failedJobs.map(({ round, attempt, hospital, phase, error }) => ({ round, attempt, hospital, phase, error })),
    error: ledger.error,
  };
}

/** report.md and its charts for the final round's global model, from the per-site summaries the store kept for that round. */
export async function writeRunReport(o: {
  runId: string;
  spec: ModelSpec;
  config: CoordinatorConfig;
  ledger: RunLedger;
  files: RunFiles;
  finalSites: SiteMetricRow[];
}): Promise<boolean> {
  const { ledger, config } = o;
  const perSite = Object.fromEntries(o.finalSites.filter((s) => s.phase === 'evaluate' && s.metrics.summary).map((s) => [s.hospital, s.metrics.summary as EvaluationSummary]));
  if (Object.keys(perSite).length === 0 || !finalMetrics(ledger, config.rounds)) return false;
  const cross = o.files.readJson<{ sites: string[]; models: string[]; accuracy: number[][] }>('cross-site.json');
  const last = ledger.round(config.rounds)!;
  await writeReport(o.files.runDir, {
    title: `fedxray run ${o.runId}: the global model after round ${config.rounds}`,
    classes: [...o.spec.classes],
    rounds: ledger.history.map((h) => ({
      round: h.round,
      global: h.metrics ? { loss: h.metrics.loss, accuracy: h.metrics.accuracy } : undefined,
      sites: Object.fromEntries(Object.entries(h.sites).map(([n, s]) => [n, { loss: s.loss, accuracy: s.accuracy }])),
    })),
    final: {
      test: mergeSummaries(Object.values(perSite)),
      val: ledger.validation ?? undefined,
      train: { accuracy: last.fit.accuracy, loss: last.fit.loss },
    },
    perSite,
    crossSite: cross ? { sites: cross.sites, models: cross.models, accuracy: cross.accuracy } : undefined,
    config: { model: o.spec, strategy: config.strategy, rounds: config.rounds, fit: config.fit },
  });
  appendFileSync(join(o.files.runDir, 'report.md'), refusedSection(ledger.history));
  return true;
}

/**
 * report.md's account of what hospitals sent that a check refused (their
 * updates, BatchNorm statistics or evaluation numbers were left out of the
 * run's results), round by round; says so when nothing was refused.
 */
export function refusedSection(history: RoundRecord[]): string {
  const rows = history.flatMap((r) => r.failedJobs.filter((f) => f.refused).map((f) => ({ round: r.round, ...f })));
  const lines = ['', '## Refused answers', ''];
  if (rows.length === 0) return [...lines, 'No hospital sent an answer that a check refused.', ''].join('\n');
  lines.push(
    "What these hospitals sent was refused by a check and left out of the results above: an update out of the global model, BatchNorm statistics out of the pooled ones, an evaluation's numbers out of the pooled metrics.",
    '',
    '| round | hospital | what | why |',
    '| --- | --- | --- | --- |',
  );
  const what = { fit: 'update', calibrate: 'BatchNorm statistics', evaluate: 'evaluation numbers' };
  for (const r of rows) lines.push(`| ${r.round} | ${r.hospital} | ${what[r.phase]} | ${r.error.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  return [...lines, ''].join('\n');
}
