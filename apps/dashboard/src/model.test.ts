import { test } from 'node:test';
import type { FailedJob } from '@fedxray/coordinator';
import assert from 'node:assert/strict';
import { currentRound, flattenConfig, formatAgo, formatDuration, latestMetrics, metricSeries, personalScores, privacyCard, roundRows, storedView, type StoredRun, type StoredSite } from './model';

const record = (round: number, accuracy: number, loss: number, sites: Record<string, { accuracy: number; loss: number }>) => ({
  round,
  attempt: 1,
  startedAt: 1000 * round,
  durationMs: 900,
  fit: {
    loss: loss + 0.1,
    accuracy: accuracy - 0.1,
    examples: 40,
    hospitals: Object.keys(sites),
    used: Object.keys(sites),
    discarded: [] as string[],
    failures: round === 2 ? [{ name: 'hospital-2', error: 'timeout' }] : [],
  },
  metrics: { accuracy, loss },
  sites: Object.fromEntries(Object.entries(sites).map(([n, m]) => [n, { examples: 10, ...m }])),
  fitSites: {},
  failedJobs: (round === 2 ? [{ hospital: 'hospital-2', phase: 'fit', error: 'timeout' }] : []) as FailedJob[],
});

const stored: StoredRun = {
  run: { id: 'run-a', createdAt: 500, updatedAt: 9000, status: 'complete', completedRounds: 2, error: null, summary: null, config: { rounds: 2, model: { arch: 'densenet-tiny' }, staticTokens: 'never shown', dataDir: '/x' } },
  rounds: [
    { round: 0, attempt: 1, status: 'complete', startedAt: 500, finishedAt: 600, fit: null, metrics: { initial: true, metrics: { accuracy: 0.3, loss: 1.2 }, sites: {} } },
    { round: 1, attempt: 1, status: 'complete', startedAt: 1000, finishedAt: 1900, fit: null, metrics: record(1, 0.6, 0.9, { 'hospital-1': { accuracy: 0.55, loss: 0.95 }, 'hospital-2': { accuracy: 0.65, loss: 0.85 } }) },
    { round: 2, attempt: 1, status: 'complete', startedAt: 2000, finishedAt: 2900, fit: null, metrics: record(2, 0.8, 0.5, { 'hospital-1': { accuracy: 0.75, loss: 0.6 } }) },
    { round: 3, attempt: 1, status: 'fitting', startedAt: 3000, finishedAt: null, fit: null, metrics: null },
  ],
};

const sites: StoredSite[] = [
  { round: 1, hospital: 'hospital-2', phase: 'fit', examples: 30, metrics: { loss: 0.7, accuracy: 0.7 } },
  { round: 1, hospital: 'hospital-1', phase: 'fit', examples: 25, metrics: { loss: 0.9, accuracy: 0.6 } },
  { round: 2, hospital: 'hospital-1', phase: 'fit', examples: 25, metrics: { loss: 0.4, accuracy: 0.85 } },
  { round: 2, hospital: 'hospital-1', phase: 'evaluate', examples: 10, metrics: { loss: 0.6, accuracy: 0.75 } },
];

test('a stored run becomes a view: completed rounds only, the initial model, a hospitals table from site rows', () => {
  const v = storedView(stored, sites);
  assert.equal(v.source, 'stored');
  assert.deepEqual(
    v.history.map((h) => h.round),
    [1, 2],
  );
  assert.deepEqual(v.initial, { accuracy: 0.3, loss: 1.2 });
  assert.equal(v.run.rounds, 2);
  assert.deepEqual(Object.keys(v.run.config).sort(), ['model', 'rounds'], 'only run settings are shown, never tokens or paths');
  assert.equal(currentRound(v), 2);
  const [h1, h2] = v.hospitals;
  assert.equal(h1.name, 'hospital-1');
  assert.deepEqual(h1.examples, { train: 25, val: null, test: 10 });
  assert.equal(h1.roundsContributed, 2);
  assert.equal(h1.lastLoss, 0.4, 'the last fit loss, from the latest round');
  assert.equal(h2.roundsContributed, 1);
  assert.equal(h2.failures, 1);
});

test('metric series put the initial model at round 0 and leave gaps where a site did not evaluate', () => {
  const v = storedView(stored, sites);
  const acc = metricSeries(v, 'accuracy');
  assert.deepEqual(acc.rounds, [0, 1, 2]);
  assert.deepEqual(acc.global, [0.3, 0.6, 0.8]);
  assert.deepEqual(acc.sites, { 'hospital-1': [null, 0.55, 0.75], 'hospital-2': [null, 0.65, null] });
  const loss = metricSeries({ history: v.history, initial: null }, 'loss');
  assert.deepEqual(loss.rounds, [1, 2]);
  assert.deepEqual(loss.global, [0.9, 0.5]);
});

test('formatting: durations, relative times, nested config', () => {
  assert.equal(formatDuration(450), '450 ms');
  assert.equal(formatDuration(12_340), '12.3 s');
  assert.equal(formatDuration(125_000), '2 min 5 s');
  assert.equal(formatDuration(-1), '—');
  assert.equal(formatAgo(null, 0), '—');
  assert.equal(formatAgo(9_000, 10_000), 'just now');
  assert.equal(formatAgo(0, 12_000), '12 s ago');
  assert.deepEqual(flattenConfig({ model: { arch: 'densenet-tiny', classes: ['a', 'b'] }, rounds: 3 }), [
    ['model.arch', 'densenet-tiny'],
    ['model.classes', 'a, b'],
    ['rounds', '3'],
  ]);
});

test('the cards show the newest metrics: the initial model until a round is evaluated, then the last round against the one before', () => {
  const initial = { accuracy: 0.3, loss: 1.2 };
  assert.deepEqual(latestMetrics({ history: [], initial: null }), { latest: null, of: null, previous: null, against: null });
  assert.deepEqual(latestMetrics({ history: [], initial }), { latest: initial, of: 'initial', previous: null, against: null });
  const r1 = record(1, 0.6, 0.9, {});
  const r2 = record(2, 0.8, 0.5, {});
  assert.deepEqual(latestMetrics({ history: [r1], initial }), { latest: r1.metrics, of: 'round', previous: initial, against: 'initial model' });
  // Rounds arrive in any order; a round without an evaluation is passed over.
  const unevaluated = { ...record(3, 0, 0, {}), metrics: null };
  assert.deepEqual(latestMetrics({ history: [r2, unevaluated, r1], initial }), { latest: r2.metrics, of: 'round', previous: r1.metrics, against: 'previous round' });
});

test('the rounds table: who the strategy used and discarded, what a check refused, every other failed job, and why a round has no metrics', () => {
  const krum = record(3, 0.7, 0.6, { a: { accuracy: 0.7, loss: 0.6 }, b: { accuracy: 0.7, loss: 0.6 }, c: { accuracy: 0.1, loss: 3 } });
  krum.fit.used = ['a', 'b'];
  krum.fit.discarded = ['c'];
  krum.failedJobs = [
    { hospital: 'd', phase: 'evaluate', error: 'bad_message: Expected at most 2 test images (what the hospital declared), but the summary counts 2000000', refused: true },
    { hospital: 'e', phase: 'evaluate', error: 'internal: Aborted()' },
  ];
  const noMetrics = { ...record(4, 0, 0, {}), metrics: null, evaluationError: 'no hospital returned a valid summary' };
  // a record written before failed jobs were kept: its fit failures stand for them
  const old = { ...record(2, 0.5, 0.7, { a: { accuracy: 0.5, loss: 0.7 } }), failedJobs: [] };
  const rows = roundRows([old, krum, noMetrics]);
  assert.deepEqual(
    rows.map((r) => [r.round, r.used, r.discarded, r.refused, r.failed, r.evaluation]),
    [
      [4, [], [], [], [], 'no hospital returned a valid summary'],
      [3, ['a', 'b'], ['c'], ['d (evaluate): bad_message: Expected at most 2 test images (what the hospital declared), but the summary counts 2000000'], ['e (evaluate): internal: Aborted()'], null],
      [2, ['a'], [], [], ['hospital-2 (fit): timeout'], null],
    ],
  );
  const credited = storedView({ ...stored, rounds: [...stored.rounds.slice(0, 3), { round: 3, attempt: 1, status: 'complete', startedAt: 3000, finishedAt: 3900, fit: null, metrics: krum }] }, sites);
  assert.deepEqual(
    credited.hospitals.map((h) => [h.name, h.roundsContributed, h.failures]),
    [
      ['a', 1, 0],
      ['b', 1, 0],
      ['d', 0, 1],
      ['e', 0, 1],
      ['hospital-1', 2, 0],
      ['hospital-2', 1, 1],
    ],
    'only used updates are credited; c was discarded',
  );
});

test("a stored run's per-hospital table (global, fine-tuned, alone) reaches the hospitals table; malformed rows are left out", () => {
  const summary = {
    personalised: {
      hospitals: [
        { hospital: 'hospital-1', testImages: 10, global: { accuracy: 0.7, loss: 0.8 }, fineTuned: { accuracy: 0.75, loss: 0.7 }, alone: { accuracy: 0.5, loss: 1.2 } },
        { hospital: 'hospital-2', testImages: 12, global: { accuracy: 0.6, loss: 0.9 } },
        { hospital: 42, global: { accuracy: 1 } },
      ],
    },
  };
  const v = storedView({ ...stored, run: { ...stored.run, summary } }, sites);
  const [h1, h2] = v.hospitals;
  assert.deepEqual(h1.personal, { global: 0.7, fineTuned: 0.75, alone: 0.5 });
  assert.deepEqual(h2.personal, { global: 0.6, fineTuned: null, alone: null });
  assert.equal(v.hospitals.length, 2);
  assert.equal(storedView(stored, sites).hospitals[0].personal, undefined, 'a run without the table has none');
  assert.equal(personalScores({ personalised: { hospitals: 'not rows' } }).size, 0);
});

test('the privacy card: ε with δ, rounds and budget under DP; "summed" under secure aggregation alone; hidden for a plain run', () => {
  assert.equal(privacyCard(null), null);
  assert.equal(privacyCard(undefined), null);
  assert.deepEqual(privacyCard({ secureAggregation: true, dp: null }), { value: 'summed', sub: 'secure aggregation: no single update is seen' });
  const dp = { epsilon: 7.0834, delta: 1e-5, noiseMultiplier: 1, clip: 1, rounds: 2, mode: 'distributed' as const, epsilonBudget: 10, perRound: [] };
  assert.deepEqual(privacyCard({ secureAggregation: true, dp }), { value: 'ε = 7.08 of budget 10', sub: 'δ = 0.00001 · 2 rounds · distributed DP · secure aggregation' });
  assert.deepEqual(privacyCard({ secureAggregation: false, dp: { ...dp, rounds: 1, mode: 'central', epsilonBudget: null } }), { value: 'ε = 7.08', sub: 'δ = 0.00001 · 1 round · central DP' });
  const fromStore = storedView({ run: { ...stored.run, summary: { privacy: { secureAggregation: false, dp } } }, rounds: [] }, []);
  assert.equal(privacyCard(fromStore.privacy)?.value, 'ε = 7.08 of budget 10', "a stored run's summary.json privacy reaches the card");
  assert.equal(storedView({ run: { ...stored.run, summary: { privacy: { secureAggregation: 'yes' } } }, rounds: [] }, []).privacy, null, 'a malformed privacy record is left out');
});
