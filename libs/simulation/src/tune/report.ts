import { FACTOR_LABELS, FACTOR_NAMES } from './config';
import { DESIGNS } from './l9';
import type { TrialPlan, TrialRecord, TuneFile } from './records';

export interface TextTable {
  header: string[];
  rows: string[][];
}

const acc = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(4));
const db = (x: number) => `${x.toFixed(2)}`;

/** The trial table as the study printed it: trial, the four levels, train and test accuracy. */
export function trialTable(trials: readonly TrialRecord[], plans?: readonly TrialPlan[]): TextTable {
  const byTrial = new Map(trials.map((t) => [t.trial, t]));
  const rows = (plans ?? trials).map((p) => {
    const t = byTrial.get(p.trial);
    const s = p.settings;
    const status = !t ? 'not run' : t.status === 'complete' ? '' : 'failed';
    return [String(p.trial), s.optimizer, String(s.learningRate), String(s.dropout), s.activation, acc(t?.trainAccuracy), acc(t?.testAccuracy), status];
  });
  const header = ['trial', ...FACTOR_NAMES.map((f) => FACTOR_LABELS[f]), 'train acc', 'test acc'];
  const anyStatus = rows.some((r) => r[7] !== '');
  return { header: anyStatus ? [...header, 'status'] : header, rows: rows.map((r) => (anyStatus ? r : r.slice(0, 7))) };
}

/**
 * Response tables (Taguchi's layout): one column per factor, rows for each
 * level, the delta (max − min) and the rank. `kind` picks the mean test
 * accuracy or the larger-is-better S/N ratio in dB.
 */
export function responseTable(file: Pick<TuneFile, 'analysis'>, kind: 'mean' | 'sn'): TextTable | null {
  const a = file.analysis;
  if (!a) return null;
  const header = ['level', ...a.effects.map((e) => FACTOR_LABELS[e.factor as keyof typeof FACTOR_LABELS] ?? e.factor)];
  const cell = (v: string | number, x: number) => `${v}: ${kind === 'mean' ? acc(x) : db(x)}`;
  const rows = [0, 1, 2].map((l) => [String(l + 1), ...a.effects.map((e) => cell(e.levels[l].value, kind === 'mean' ? e.levels[l].mean : e.levels[l].sn))]);
  rows.push(['delta', ...a.effects.map((e) => (kind === 'mean' ? acc(e.deltaMean) : db(e.deltaSn)))]);
  rows.push(['rank', ...a.effects.map((e) => String(kind === 'mean' ? e.rankMean : e.rankSn))]);
  return { header, rows };
}

/** One sentence naming the recommended combination. */
export function recommendation(file: Pick<TuneFile, 'analysis' | 'trials'>): string | null {
  const a = file.analysis;
  if (!a) return null;
  const r = a.recommended;
  const combo = `optimizer ${r.optimizer}, learning rate ${r.learningRate}, dropout ${r.dropout}, activation ${r.activation}`;
  const best = file.trials.find((t) => t.trial === a.bestTrial)!;
  const where = a.recommendedTrial ? `it is trial ${a.recommendedTrial} (test accuracy ${acc(file.trials.find((t) => t.trial === a.recommendedTrial)?.testAccuracy)})` : 'it is not one of the trials; confirm it with a run of its own';
  return (
    `Recommended (best level of each factor by S/N): ${combo}; ${where}. ` +
    `Additive-model prediction: S/N ${db(a.predicted.sn)} dB, test accuracy ${acc(a.predicted.testAccuracy)}. ` +
    `Best single trial: ${a.bestTrial} (test accuracy ${acc(best.testAccuracy)}).`
  );
}

function markdownTable(t: TextTable): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [`| ${t.header.map(esc).join(' | ')} |`, `| ${t.header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

/** tune.md: the settings, the trial table, both response tables and the recommendation. */
export function renderTuneMarkdown(file: TuneFile): string {
  const s = file.settings as Record<string, any>;
  const lines = [
    `# Taguchi ${file.design.toUpperCase()} tuning`,
    '',
    `${file.trials.filter((t) => t.status === 'complete').length} of ${DESIGNS[file.design].length} trials complete.`,
    `Every trial is a federated run with the same settings; only the four factors change.`,
    '',
    `- data: ${s.data ?? (s.hospitalData ?? []).join(', ')}`,
    `- ${file.centralized ? 'centralized: one hospital holding all the data (FedAvg over one client)' : `hospitals: ${s.hospitals}, partition ${s.partition}`}`,
    `- rounds ${s.rounds} × local epochs ${s.localEpochs}, batch ${s.batchSize}, max examples per epoch ${s.maxExamplesPerEpoch || 'all'}`,
    `- model: ${JSON.stringify(s.model)}, backend ${s.backend}, seed ${s.seed}`,
    '',
    '## Trials',
    '',
    'Train accuracy: the last round, over the hospitals’ training batches. Test accuracy: the final global model on every hospital’s test split, pooled.',
    '',
    markdownTable(trialTable(file.trials)),
    '',
  ];
  const means = responseTable(file, 'mean');
  const sn = responseTable(file, 'sn');
  if (means && sn) {
    lines.push('## Main effects: mean test accuracy per level', '', markdownTable(means), '');
    lines.push('## Signal-to-noise ratios (larger is better, dB) per level', '', 'S/N of a trial = −10·log10(mean(1/y²)) = 20·log10(y) for its one test accuracy y; a level’s S/N is the mean over its three trials.', '', markdownTable(sn), '');
    lines.push('## Recommendation', '', recommendation(file)!, '');
  } else {
    lines.push('The main effects need every trial; rerun the same command to finish the design.', '');
  }
  return `${lines.join('\n')}`;
}
