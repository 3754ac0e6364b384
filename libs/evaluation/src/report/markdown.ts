import type { ClassMetrics, Metrics } from '../metrics';
import { fixed, table } from './format';
import { missingRocNote, type ChartSpec } from './charts';
import type { ReportInput } from './types';

export interface ReportMetrics {
  test: Metrics;
  val?: Metrics;
  perSite: Record<string, Metrics>;
}

/** An AUC whose binning bound reaches this shows the bound in the table. */
const SHOWN_BOUND = 0.0005;

function aucCell(auc: number, bound: number): string {
  return bound >= SHOWN_BOUND ? `${fixed(auc)} ±${fixed(bound, 3)}` : fixed(auc);
}

function perClassTable(m: Metrics): string {
  const rows = m.perClass.map((c) => [
    c.name,
    fixed(c.precision),
    fixed(c.recall),
    fixed(c.specificity),
    fixed(c.f1),
    aucCell(c.auc, c.aucErrorBound),
    String(c.support),
  ]);
  rows.push(['macro average', fixed(m.macro.precision), fixed(m.macro.recall), fixed(m.macro.specificity), fixed(m.macro.f1), fixed(m.macroAuc), String(m.count)]);
  rows.push(['weighted average', fixed(m.weighted.precision), fixed(m.weighted.recall), fixed(m.weighted.specificity), fixed(m.weighted.f1), '', String(m.count)]);
  const notes = [undefinedNote(m)];
  if (m.perClass.some((c) => c.aucErrorBound >= SHOWN_BOUND)) notes.push('±: how far the AUC from score histograms can be from the exact AUC (scores that share a histogram bin count as ties).');
  return [table(['class', 'precision', 'recall (sensitivity)', 'specificity', 'F1', 'AUC', 'support'], rows), ...notes].join('\n\n');
}

const MACRO_METRICS = [
  ['precision', (c: ClassMetrics) => c.precision],
  ['recall', (c: ClassMetrics) => c.recall],
  ['specificity', (c: ClassMetrics) => c.specificity],
  ['F1', (c: ClassMetrics) => c.f1],
  ['AUC', (c: ClassMetrics) => c.auc],
] as const;

/** The legend for `–`, and which classes each macro average leaves out. */
function undefinedNote(m: Metrics): string {
  const skipped = MACRO_METRICS.map(([name, value]) => [name, m.perClass.filter((c) => Number.isNaN(value(c))).map((c) => c.name)] as const).filter(([, names]) => names.length > 0);
  const legend =
    '–: undefined. Recall and AUC need examples of the class (AUC also needs examples of other classes), precision needs predictions of it, specificity needs examples of other classes; F1 needs precision and recall.';
  const macro =
    skipped.length === 0
      ? 'Macro averages are the unweighted mean over all classes.'
      : `Macro averages are the unweighted mean over the classes where the metric is defined; undefined classes are skipped (${skipped.map(([name, names]) => `${name}: ${names.join(', ')}`).join('; ')}).`;
  return `${legend} ${macro}`;
}

function confusionTable(m: Metrics): string {
  return table(
    ['true \\ predicted', ...m.classes],
    m.confusion.map((row, t) => [m.classes[t], ...row.map(String)]),
  );
}

function headline(m: Metrics): string {
  return [
    `Accuracy ${fixed(m.accuracy)}, balanced accuracy ${fixed(m.balancedAccuracy)}, macro AUC ${fixed(m.macroAuc)},`,
    `Cohen's κ ${fixed(m.kappa)}, expected calibration error ${fixed(m.ece)}, mean loss ${fixed(m.loss)} over ${m.count} examples.`,
  ].join(' ');
}

const image = (chart: ChartSpec): string => `![${chart.caption}](${chart.file})`;

/** The human-readable report: the numbers first, then the charts, then how the run was set up. */
export function renderMarkdown(input: ReportInput, metrics: ReportMetrics, charts: ChartSpec[], createdAt: string): string {
  const out: string[] = [];
  const chart = (file: string): ChartSpec | undefined => charts.find((c) => c.file === file);
  // Every piece is its own block: a table right after a paragraph line would not render as a table.
  const push = (...blocks: (string | undefined | false)[]) => out.push(...blocks.filter((l): l is string => typeof l === 'string'));

  push(`# ${input.title}`, `Written ${createdAt}. Classes: ${input.classes.join(', ')}.`);

  const { test, val } = metrics;
  const testName = input.final.testName ?? 'test';
  const rows = [
    ['train', fixed(input.final.train?.accuracy), fixed(input.final.train?.loss), '–'],
    ['validation', fixed(val?.accuracy), fixed(val?.loss), val ? String(val.count) : '–'],
    [testName, fixed(test.accuracy), fixed(test.loss), String(test.count)],
  ];
  if (input.baseline) rows.push(['baseline', fixed(input.baseline.accuracy), fixed(input.baseline.loss), '–']);
  push('## Results', table(['split', 'accuracy', 'loss', 'examples'], rows));
  push(
    input.final.train ? 'Train figures are as the last round reported them, on its training batches.' : undefined,
    input.baseline ? `${testName === 'test' ? 'Test' : `The ${testName} split's`} accuracy ${test.accuracy >= input.baseline.accuracy ? 'reaches' : 'falls short of'} the baseline by ${fixed(Math.abs(test.accuracy - input.baseline.accuracy))}.` : undefined,
  );

  push(`## ${testName === 'test' ? 'Test set' : `Evaluated split: ${testName}`}`, headline(test), '### Per class', perClassTable(test), '### Confusion matrix (rows: true class, columns: predicted)', confusionTable(test));
  for (const f of ['confusion.png', 'roc.png', 'calibration.png']) {
    const c = chart(f);
    if (c) push(image(c));
    const missing = f === 'roc.png' && c ? missingRocNote(test) : '';
    if (missing) push(`ROC curves: ${missing}.`);
  }

  if (val) push('## Validation set', headline(val), perClassTable(val));

  const sites = Object.keys(metrics.perSite).sort();
  if (sites.length > 0) {
    push(
      '## Per site',
      'The final model on each site’s own test split; the pooled test set above is the sum of these.',
      table(
        ['site', 'examples', 'accuracy', 'balanced accuracy', 'macro F1', 'macro AUC', 'loss'],
        sites.map((s) => {
          const m = metrics.perSite[s];
          return [s, String(m.count), fixed(m.accuracy), fixed(m.balancedAccuracy), fixed(m.macro.f1), fixed(m.macroAuc), fixed(m.loss)];
        }),
      ),
    );
  }

  if (input.crossSite) {
    const models = input.crossSite.models ?? input.crossSite.sites;
    push(
      '## Cross-site evaluation',
      'Accuracy of each site’s model (rows) on each site’s test data (columns).',
      table(
        ['model \\ data', ...input.crossSite.sites],
        models.map((m, i) => [m, ...(input.crossSite!.accuracy[i] ?? []).map((v) => fixed(v))]),
      ),
    );
    const c = chart('cross-site.png');
    if (c) push(image(c));
  }

  if (input.rounds.length > 0) {
    const roundsSorted = [...input.rounds].sort((a, b) => a.round - b.round);
    push(
      '## Learning curves',
      chart('learning-accuracy.png') && image(chart('learning-accuracy.png')!),
      chart('learning-loss.png') && image(chart('learning-loss.png')!),
      table(
        ['round', 'global accuracy', 'global loss', 'sites (accuracy)'],
        roundsSorted.map((r) => [
          String(r.round),
          fixed(r.global?.accuracy),
          fixed(r.global?.loss),
          Object.entries(r.sites ?? {})
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([s, v]) => `${s} ${fixed(v.accuracy, 3)}`)
            .join(', '),
        ]),
      ),
    );
  }

  if (input.config) push('## Configuration', ['```json', JSON.stringify(input.config, null, 2), '```'].join('\n'));
  push('Metrics come from mergeable summaries (confusion matrices and per-class score histograms); see docs/EVALUATION.md.');
  return `${out.join('\n\n')}\n`;
}
