import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluationSumLayout, packEvaluation, unpackEvaluation, type SummarySums } from './evaluation-sum';
import { runInMemory } from './harness';
import { seededRandom } from './random';
import { refused, rng } from './testing';

const CLASSES = ['covid', 'normal', 'pneumonia'];
const BINS = 20;
const CAL = 5;

/** A consistent summary of `n` random predictions over 3 classes. */
function summary(seed: number, n: number): SummarySums {
  const next = rng(seed);
  const k = CLASSES.length;
  const s: SummarySums = {
    classes: [...CLASSES],
    count: n,
    lossSum: 0,
    confusion: Array.from({ length: k }, () => new Array<number>(k).fill(0)),
    bins: BINS,
    histograms: Array.from({ length: k }, () => [new Array<number>(BINS).fill(0), new Array<number>(BINS).fill(0)]),
    calibration: { count: new Array<number>(CAL).fill(0), confidenceSum: new Array<number>(CAL).fill(0), correct: new Array<number>(CAL).fill(0) },
  };
  for (let i = 0; i < n; i++) {
    const truth = Math.floor(next() * k);
    const raw = CLASSES.map(() => next() + 1e-3);
    const total = raw.reduce((a, b) => a + b, 0);
    const p = raw.map((r) => r / total);
    const predicted = p.indexOf(Math.max(...p));
    s.confusion[truth][predicted]++;
    s.lossSum -= Math.log(p[truth]);
    p.forEach((score, c) => s.histograms[c][c === truth ? 1 : 0][Math.min(BINS - 1, Math.floor(score * BINS))]++);
    const b = Math.min(CAL - 1, Math.floor(p[predicted] * CAL));
    s.calibration.count[b]++;
    s.calibration.confidenceSum[b] += p[predicted];
    if (predicted === truth) s.calibration.correct[b]++;
  }
  return s;
}

/** Element-wise sum of summaries: what merging them gives. */
function added(list: SummarySums[]): SummarySums {
  const out = structuredClone(list[0]);
  for (const s of list.slice(1)) {
    out.count += s.count;
    out.lossSum += s.lossSum;
    s.confusion.forEach((row, t) => row.forEach((v, p) => (out.confusion[t][p] += v)));
    s.histograms.forEach((h, c) => h.forEach((side, t) => side.forEach((v, b) => (out.histograms[c][t][b] += v))));
    for (const key of ['count', 'confidenceSum', 'correct'] as const) s.calibration[key].forEach((v, b) => (out.calibration[key][b] += v));
  }
  return out;
}

test('evaluation summaries through a secure sum add up to their merge: counts exactly, real sums to the fixed point', () => {
  const sites = [80, 3, 250, 41].map((n, i) => summary(i + 10, n));
  const layout = evaluationSumLayout({ classes: 3, bins: BINS, calibrationBins: CAL, maxExamples: 250, maxSummands: 10 });
  const run = runInMemory({
    config: { session: 'evaluate', participants: [1, 2, 3, 4], threshold: 3, graph: { kind: 'full' }, vectorLength: layout.length },
    input: (p) => packEvaluation(layout, sites[p - 1], seededRandom(`evaluate ${p}`)),
    drops: new Map([[2, 'mask']]),
  });
  const got = unpackEvaluation(layout, CLASSES, run.result.sum, run.result.survivors.length);
  const want = added([sites[0], sites[2], sites[3]]);
  assert.deepEqual({ ...got, lossSum: 0, calibration: { ...got.calibration, confidenceSum: [] } }, { ...want, lossSum: 0, calibration: { ...want.calibration, confidenceSum: [] } });
  assert.ok(Math.abs(got.lossSum - want.lossSum) < 1e-3, `loss sum ${got.lossSum} vs ${want.lossSum}`);
  got.calibration.confidenceSum.forEach((v, b) => assert.ok(Math.abs(v - want.calibration.confidenceSum[b]) < 1e-5, `bin ${b}`));
});

test('a summary of another shape than the layout is refused', () => {
  const layout = evaluationSumLayout({ classes: 3, bins: BINS, calibrationBins: CAL, maxExamples: 100, maxSummands: 4 });
  const random = seededRandom('shape');
  refused(() => packEvaluation(layout, { ...summary(1, 5), bins: BINS + 1 }, random), 'wrong_length');
  refused(() => packEvaluation(layout, { ...summary(1, 5), classes: ['a', 'b'] }, random), 'wrong_length');
  refused(() => packEvaluation(layout, summary(2, 101), random), 'bad_config', /0\.\.100/);
});
