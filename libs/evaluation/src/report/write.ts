import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EvaluationError } from '../errors';
import { computeMetrics } from '../metrics';
import type { Metrics } from '../metrics';
import type { EvaluationSummary } from '../summary';
import { calibrationChart, confusionChart, crossSiteChart, learningChart, renderPng, rocChart } from './charts';
import type { ChartSpec } from './charts';
import { toJson } from './format';
import { renderMarkdown } from './markdown';
import type { ReportMetrics } from './markdown';
import type { ReportInput, ReportResult } from './types';

function sameClasses(what: string, summary: EvaluationSummary, classes: string[]): void {
  if (summary.classes.length !== classes.length || summary.classes.some((c, i) => c !== classes[i])) {
    throw new EvaluationError(`${what}: expected classes [${classes.join(', ')}], but got [${summary.classes.join(', ')}]`);
  }
}

/** Metrics without their ROC points (kept for the test and validation sets only, to keep report.json small). */
function withoutRoc(m: Metrics): Metrics {
  return { ...m, perClass: m.perClass.map((c) => ({ ...c, roc: { fpr: [], tpr: [] } })) };
}

/**
 * Writes report.json, report.md and the PNG charts into `dir` (created if
 * missing): the confusion matrix, ROC curves and calibration of the test set,
 * learning curves when there are rounds, and the cross-site matrix when given.
 */
export async function writeReport(dir: string, input: ReportInput): Promise<ReportResult> {
  sameClasses('final.test', input.final.test, input.classes);
  if (input.final.val) sameClasses('final.val', input.final.val, input.classes);
  for (const [site, s] of Object.entries(input.perSite ?? {})) sameClasses(`perSite.${site}`, s, input.classes);

  const metrics: ReportMetrics = {
    test: computeMetrics(input.final.test),
    val: input.final.val ? computeMetrics(input.final.val) : undefined,
    perSite: Object.fromEntries(Object.entries(input.perSite ?? {}).map(([site, s]) => [site, computeMetrics(s)])),
  };

  const testName = input.final.testName ?? 'test';
  const charts: ChartSpec[] = [
    confusionChart(metrics.test, testName),
    rocChart(metrics.test, testName),
    calibrationChart(metrics.test, input.final.test.calibration, testName),
  ];
  if (input.rounds.length > 0) charts.push(learningChart(input, 'accuracy'), learningChart(input, 'loss'));
  if (input.crossSite && input.crossSite.sites.length > 0) charts.push(crossSiteChart(input.crossSite));

  await mkdir(dir, { recursive: true });
  const createdAt = new Date().toISOString();
  const files: string[] = [];
  const json = {
    title: input.title,
    createdAt,
    classes: input.classes,
    final: {
      train: input.final.train ?? null,
      val: input.final.val ? { metrics: metrics.val, summary: input.final.val } : null,
      test: { name: testName, metrics: metrics.test, summary: input.final.test },
    },
    perSite: Object.fromEntries(Object.entries(input.perSite ?? {}).map(([site, s]) => [site, { metrics: withoutRoc(metrics.perSite[site]), summary: s }])),
    crossSite: input.crossSite ?? null,
    baseline: input.baseline ?? null,
    rounds: input.rounds,
    config: input.config ?? null,
    charts: charts.map((c) => c.file),
  };
  const jsonPath = join(dir, 'report.json');
  // NaN (an undefined ratio) is written as null.
  await writeFile(jsonPath, `${toJson(json)}\n`);
  files.push(jsonPath);

  const mdPath = join(dir, 'report.md');
  await writeFile(mdPath, renderMarkdown(input, metrics, charts, createdAt));
  files.push(mdPath);

  for (const chart of charts) {
    const path = join(dir, chart.file);
    await writeFile(path, await renderPng(chart));
    files.push(path);
  }
  return { files };
}
