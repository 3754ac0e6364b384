import type { HospitalState, RoundRecord, RunState, SiteRoundMetrics } from '@fedxray/coordinator';

/** A hospital as the page shows it: the live state, or what a finished run's store remembers. */
export interface HospitalView extends Omit<HospitalState, 'examples'> {
  examples: { train: number | null; val: number | null; test: number | null } | null;
  /** After the last round (a simulation's summary `personalised`): test accuracy on this hospital's own test split. */
  personal?: PersonalScores;
}

/** One hospital's row of the personalised table: the global model, fine-tuned locally, trained alone. */
export interface PersonalScores {
  global: number | null;
  fineTuned: number | null;
  alone: number | null;
}

const accuracyOf = (v: unknown): number | null => {
  const a = v && typeof v === 'object' ? (v as { accuracy?: unknown }).accuracy : undefined;
  return typeof a === 'number' && Number.isFinite(a) ? a : null;
};

/** The personalised table of a run summary (summary.personalised.hospitals), by hospital; anything malformed is left out. */
export function personalScores(summary: Record<string, unknown> | null): Map<string, PersonalScores> {
  const out = new Map<string, PersonalScores>();
  const table = summary?.personalised;
  const rows = table && typeof table === 'object' ? (table as { hospitals?: unknown }).hospitals : undefined;
  if (!Array.isArray(rows)) return out;
  for (const row of rows as Record<string, unknown>[]) {
    if (!row || typeof row.hospital !== 'string') continue;
    out.set(row.hospital, { global: accuracyOf(row.global), fineTuned: accuracyOf(row.fineTuned), alone: accuracyOf(row.alone) });
  }
  return out;
}

/** Everything the page renders: a live run's state, or a finished run read back from the store. */
export interface View extends Omit<RunState, 'hospitals'> {
  hospitals: HospitalView[];
  /** `live` while watching the coordinator's own run; `stored` for a run read from `/api/runs/:id`. */
  source: 'live' | 'stored';
}

/** One run as `/api/runs` lists it. */
export interface RunListItem {
  id: string;
  createdAt: number;
  updatedAt: number;
  status: string;
  completedRounds: number;
  error: string | null;
}

/** `/api/runs/:id`: the run row and its round rows. */
export interface StoredRun {
  run: RunListItem & { config: Record<string, unknown>; summary: Record<string, unknown> | null };
  rounds: { round: number; attempt: number; status: string; startedAt: number; finishedAt: number | null; fit: Record<string, unknown> | null; metrics: Record<string, unknown> | null }[];
}

/** `/api/runs/:id/sites`: per-hospital metrics of every round (phase `fit` or `evaluate`). */
export interface StoredSite {
  round: number;
  hospital: string;
  phase: string;
  examples: number;
  metrics: Record<string, unknown>;
}

export function liveView(state: RunState): View {
  return { ...state, source: 'live' };
}

const CONFIG_KEYS = ['model', 'strategy', 'fit', 'rounds', 'minAvailable', 'minFit', 'fractionFit', 'maxFailures', 'keepBatchNormLocal', 'evaluateEvery', 'seed'];

/** Rebuilds a finished run's view from the store: rounds, per-site metrics and a hospitals table. */
export function storedView(stored: StoredRun, sites: StoredSite[]): View {
  const { run, rounds } = stored;
  const history: RoundRecord[] = [];
  let initial: Record<string, number> | null = null;
  for (const r of rounds) {
    const m = r.metrics;
    if (!m) continue;
    if (r.round === 0) {
      if (m.metrics && typeof m.metrics === 'object') initial = m.metrics as Record<string, number>;
      continue;
    }
    if (r.status !== 'complete') continue;
    const rec = m as unknown as Partial<RoundRecord>;
    history.push({
      round: r.round,
      attempt: r.attempt,
      startedAt: r.startedAt,
      durationMs: rec.durationMs ?? (r.finishedAt ? r.finishedAt - r.startedAt : 0),
      fit: { loss: NaN, accuracy: NaN, examples: 0, hospitals: [], failures: [], ...rec.fit, used: rec.fit?.used ?? rec.fit?.hospitals ?? [], discarded: rec.fit?.discarded ?? [] },
      metrics: rec.metrics ?? null,
      ...(rec.evaluationError ? { evaluationError: rec.evaluationError } : {}),
      sites: rec.sites ?? {},
      fitSites: rec.fitSites ?? {},
      failedJobs: rec.failedJobs ?? [],
    });
  }
  const config = Object.fromEntries(CONFIG_KEYS.filter((k) => k in run.config).map((k) => [k, run.config[k]]));
  return {
    source: 'stored',
    run: {
      id: run.id,
      status: (['running', 'complete', 'failed', 'stopped'].includes(run.status) ? run.status : 'stopped') as View['run']['status'],
      rounds: typeof run.config.rounds === 'number' ? run.config.rounds : history.length,
      completedRounds: run.completedRounds,
      startedAt: run.createdAt,
      config,
      error: run.error,
    },
    current: null,
    hospitals: withPersonalScores(hospitalsFromSites(sites, history), personalScores(run.summary)),
    history,
    initial,
    confusion: null,
    privacy: privacyOf(run.summary?.privacy),
  };
}

type Privacy = NonNullable<RunState['privacy']>;

/** summary.json's `privacy`, when it has the shape a run writes; null otherwise. */
function privacyOf(v: unknown): Privacy | null {
  if (!v || typeof v !== 'object' || typeof (v as { secureAggregation?: unknown }).secureAggregation !== 'boolean') return null;
  const dp = (v as { dp?: unknown }).dp;
  if (dp !== null && (typeof dp !== 'object' || typeof (dp as { epsilon?: unknown }).epsilon !== 'number')) return null;
  return v as Privacy;
}

/**
 * The privacy card: ε spent so far (and δ, the rounds and the budget) under
 * DP, or that updates are only seen summed under secure aggregation alone;
 * null for a plain run (the card is hidden).
 */
export function privacyCard(privacy: RunState['privacy']): { value: string; sub: string } | null {
  if (!privacy) return null;
  const secure = privacy.secureAggregation ? 'secure aggregation' : '';
  const dp = privacy.dp;
  if (!dp) return { value: 'summed', sub: 'secure aggregation: no single update is seen' };
  const budget = dp.epsilonBudget !== null ? ` of budget ${dp.epsilonBudget}` : '';
  const parts = [`δ = ${dp.delta}`, `${dp.rounds} ${dp.rounds === 1 ? 'round' : 'rounds'}`, `${dp.mode} DP`, secure].filter(Boolean);
  return { value: `ε = ${dp.epsilon.toFixed(2)}${budget}`, sub: parts.join(' · ') };
}

function withPersonalScores(hospitals: HospitalView[], scores: Map<string, PersonalScores>): HospitalView[] {
  return hospitals.map((h) => (scores.has(h.name) ? { ...h, personal: scores.get(h.name) } : h));
}

/** A finished run's hospitals: train examples from fit rows, test examples from evaluate rows, the last fit loss and accuracy. */
export function hospitalsFromSites(sites: StoredSite[], history: RoundRecord[]): HospitalView[] {
  const byName = new Map<string, HospitalView>();
  const get = (name: string): HospitalView => {
    let h = byName.get(name);
    if (!h) {
      h = { name, connected: false, lastSeen: null, backend: null, software: null, examples: { train: null, val: null, test: null }, lastLoss: null, lastAccuracy: null, failures: 0, roundsContributed: 0 };
      byName.set(name, h);
    }
    return h;
  };
  for (const s of [...sites].sort((a, b) => a.round - b.round)) {
    const h = get(s.hospital);
    if (s.phase === 'fit') {
      h.examples!.train = s.examples;
      if (typeof s.metrics.loss === 'number') h.lastLoss = s.metrics.loss;
      if (typeof s.metrics.accuracy === 'number') h.lastAccuracy = s.metrics.accuracy;
    } else if (s.phase === 'evaluate') {
      h.examples!.test = s.examples;
    }
  }
  for (const r of history) {
    // credited only where the strategy used the update (Krum and MultiKrum discard some)
    for (const name of r.fit.used) get(name).roundsContributed++;
    // every failed job of the round; records written before failed jobs were kept list the fit failures only
    for (const name of r.failedJobs.length ? r.failedJobs.map((f) => f.hospital) : r.fit.failures.map((f) => f.name)) get(name).failures++;
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** One round as the rounds table shows it: whose updates the strategy used and discarded, what a check refused, and every other job that failed. */
export interface RoundRow {
  round: number;
  used: string[];
  discarded: string[];
  /** Answers a check refused (an update, BatchNorm statistics, evaluation numbers left out of the results): `hospital (phase): why`. */
  refused: string[];
  /** Jobs that failed otherwise (no answer in time, gone, a failure the hospital reported). */
  failed: string[];
  /** Why the round has no metrics, when its evaluation failed. */
  evaluation: string | null;
}

export function roundRows(history: RoundRecord[]): RoundRow[] {
  const line = (f: { hospital: string; phase: string; error: string }) => `${f.hospital} (${f.phase}): ${f.error}`;
  return [...history]
    .sort((a, b) => b.round - a.round)
    .map((r) => {
      const jobs: { hospital: string; phase: string; error: string; refused?: true }[] = r.failedJobs.length ? r.failedJobs : r.fit.failures.map((f) => ({ hospital: f.name, phase: 'fit', error: f.error }));
      return {
        round: r.round,
        used: r.fit.used,
        discarded: r.fit.discarded,
        refused: jobs.filter((f) => f.refused).map(line),
        failed: jobs.filter((f) => !f.refused).map(line),
        evaluation: r.evaluationError ?? null,
      };
    });
}

/** Curves per round for one metric: the pooled global model and each site, with round 0 for the initial model. */
export function metricSeries(view: Pick<View, 'history' | 'initial'>, metric: 'accuracy' | 'loss'): { rounds: number[]; global: (number | null)[]; sites: Record<string, (number | null)[]> } {
  const records = [...view.history].sort((a, b) => a.round - b.round);
  const rounds = [...(view.initial ? [0] : []), ...records.map((r) => r.round)];
  const names = [...new Set(records.flatMap((r) => Object.keys(r.sites)))].sort();
  const value = (x: number | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const global = [...(view.initial ? [value(view.initial[metric])] : []), ...records.map((r) => value(r.metrics?.[metric]))];
  const sites: Record<string, (number | null)[]> = {};
  for (const n of names) {
    sites[n] = [...(view.initial ? [null] : []), ...records.map((r) => value((r.sites[n] as SiteRoundMetrics | undefined)?.[metric]))];
  }
  return { rounds, global, sites };
}

/**
 * The global model's newest metrics for the cards: the last evaluated round,
 * else the initial model (plotted as "init" before round 1 ends); `previous`
 * is what they are compared with: the evaluated round before, or the initial model.
 */
export function latestMetrics(view: Pick<View, 'history' | 'initial'>): {
  latest: Record<string, number> | null;
  /** `initial` when `latest` is the initial model's. */
  of: 'initial' | 'round' | null;
  previous: Record<string, number> | null;
  against: 'initial model' | 'previous round' | null;
} {
  const evaluated = view.history.filter((h) => h.metrics).sort((a, b) => a.round - b.round);
  const last = evaluated[evaluated.length - 1];
  if (!last) return { latest: view.initial, of: view.initial ? 'initial' : null, previous: null, against: null };
  const latest = last.metrics!;
  if (evaluated.length > 1) return { latest, of: 'round', previous: evaluated[evaluated.length - 2].metrics, against: 'previous round' };
  return { latest, of: 'round', previous: view.initial, against: view.initial ? 'initial model' : null };
}

/** The round number to show as "current": the round in progress, else the last completed one. */
export function currentRound(view: Pick<View, 'current' | 'history'>): number {
  if (view.current) return view.current.round;
  return view.history.reduce((m, r) => Math.max(m, r.round), 0);
}

/** A nested config as `a.b.c = value` lines, in a stable order. */
export function flattenConfig(config: Record<string, unknown>, prefix = ''): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(config)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(...flattenConfig(v as Record<string, unknown>, key));
    else if (v !== undefined) out.push([key, Array.isArray(v) ? v.join(', ') : String(v)]);
  }
  return out;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "just now", "12 s ago", "3 min ago" relative to `now`. */
export function formatAgo(ts: number | null, now: number): string {
  if (ts === null) return '—';
  const d = Math.max(0, now - ts);
  if (d < 2000) return 'just now';
  return `${formatDuration(d).replace(/\.\d s$/, ' s')} ago`;
}

export function formatPercent(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—';
}

export function formatNumber(x: number | null | undefined, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—';
}
