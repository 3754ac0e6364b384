import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactAuc, histogramAuc } from './auc';
import { DEFAULT_BINS, binEdges, scoreBin } from './bins';
import { computeMetrics } from './metrics';
import { addPredictions, createSummary } from './summary';
import { syntheticOutputs } from './synthetic';

const CLASSES = ['covid19', 'normal', 'pneumonia', 'tuberculosis'];

test('exact AUC: pairs ordered right count 1, ties count half', () => {
  assert.equal(exactAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(exactAuc([0.5, 0.5, 0.5], [1, 0, 0]), 0.5);
  assert.equal(exactAuc([0.1, 0.2, 0.8, 0.2], [false, false, true, true]), 3.5 / 4);
  assert.ok(Number.isNaN(exactAuc([0.1, 0.2], [1, 1])));
});

test('histogram AUC counts a positive and a negative sharing a bin as half', () => {
  // bins in increasing score order: negatives at bins 0 and 1, positives at 1 and 2.
  const r = histogramAuc([1, 1, 0], [0, 1, 1]);
  assert.equal(r.auc, 3.5 / 4);
  assert.equal(r.errorBound, 0.5 * (1 / 4));
  assert.deepEqual(r.roc.fpr, [0, 0, 0.5, 1]);
  assert.deepEqual(r.roc.tpr, [0, 0.5, 1, 1]);
});

test('bin edges are increasing, cover [0, 1] and agree with scoreBin', () => {
  const bins = DEFAULT_BINS;
  const edges = binEdges(bins);
  assert.equal(edges[0], 0);
  assert.equal(edges[bins], 1);
  for (let b = 0; b < bins; b++) {
    assert.ok(edges[b + 1] > edges[b], `edge ${b + 1} above edge ${b}`);
    const mid = edges[b] > 0 && edges[b + 1] < 1 ? Math.sqrt(edges[b] * edges[b + 1]) : (edges[b] + edges[b + 1]) / 2;
    assert.equal(scoreBin(mid, bins), b, `middle of bin ${b}`);
  }
  assert.equal(scoreBin(0, bins), 0);
  assert.equal(scoreBin(1, bins), bins - 1);
  // Softmax piles negatives up near 0: those scores still land in different bins.
  assert.notEqual(scoreBin(1e-30, bins), scoreBin(1e-31, bins));
  assert.notEqual(scoreBin(1e-6, bins), scoreBin(1.2e-6, bins));
  assert.notEqual(scoreBin(1 - 1e-6, bins), scoreBin(1 - 1.2e-6, bins));
  // At p = 0.5 a bin is 0.0024 wide (dlogit = 0.0096), as fine as ~420 equal-width bins.
  const half = scoreBin(0.5, bins);
  assert.ok(edges[half + 1] - edges[half] < 0.0025, `width at 0.5: ${edges[half + 1] - edges[half]}`);
});

// margin: how far the true class's logit is shifted up; spread: the logits' noise.
const DISTRIBUTIONS = [
  { name: 'well separated', margin: 6, spread: 1.5 },
  { name: 'overlapping', margin: 1, spread: 1 },
  { name: 'piled up near 0 and 1', margin: 8, spread: 6 },
];

for (const d of DISTRIBUTIONS) {
  test(`AUC from the default histograms is within 0.002 of the exact AUC: ${d.name}`, () => {
    const C = CLASSES.length;
    const n = 4000;
    for (const seed of [1, 2, 3]) {
      const { probs, labels } = syntheticOutputs(n, C, d.margin, d.spread, seed);
      const metrics = computeMetrics(addPredictions(createSummary(CLASSES), probs, labels));
      for (let c = 0; c < C; c++) {
        const scores = Array.from({ length: n }, (_, i) => probs[i * C + c]);
        const exact = exactAuc(
          scores,
          Array.from(labels, (y) => y === c),
        );
        const m = metrics.perClass[c];
        const err = Math.abs(m.auc - exact);
        assert.ok(err < 0.002, `seed ${seed} class ${c}: binned ${m.auc} vs exact ${exact}`);
        assert.ok(err <= m.aucErrorBound + 1e-12, `seed ${seed} class ${c}: error ${err} above its bound ${m.aucErrorBound}`);
        // The bound is computed from the histograms alone, so it certifies the AUC without the raw scores.
        assert.ok(m.aucErrorBound < 0.002, `seed ${seed} class ${c}: bound ${m.aucErrorBound}`);
      }
    }
  });
}

test('the piled-up distribution really piles up next to 0 and 1', () => {
  const { probs } = syntheticOutputs(4000, 4, 8, 6, 1);
  let low = 0;
  let high = 0;
  for (const p of probs) {
    if (p < 1e-3) low++;
    if (p > 1 - 1e-3) high++;
  }
  assert.ok(low / probs.length > 0.4, `share below 1e-3: ${low / probs.length}`);
  assert.ok(high / probs.length > 0.05, `share above 1 - 1e-3: ${high / probs.length}`);
});

test('ROC runs from (0, 0) to (1, 1), never goes back, and its trapezoids add up to the AUC', () => {
  const { probs, labels } = syntheticOutputs(2000, 4, 2, 2, 7);
  const metrics = computeMetrics(addPredictions(createSummary(CLASSES), probs, labels));
  for (const m of metrics.perClass) {
    const { fpr, tpr } = m.roc;
    assert.deepEqual([fpr[0], tpr[0]], [0, 0]);
    assert.deepEqual([fpr.at(-1), tpr.at(-1)], [1, 1]);
    let area = 0;
    for (let i = 1; i < fpr.length; i++) {
      assert.ok(fpr[i] >= fpr[i - 1] && tpr[i] >= tpr[i - 1]);
      area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
    }
    assert.ok(Math.abs(area - m.auc) < 1e-12, `${m.name}: ${area} vs ${m.auc}`);
  }
});

test('as many equal-width bins would miss the piled-up case by far more than 0.002 (why the bins are not equal-width)', () => {
  const C = 4;
  const n = 4000;
  const { probs, labels } = syntheticOutputs(n, C, 8, 6, 1);
  let worst = 0;
  for (let c = 0; c < C; c++) {
    const scores = Array.from({ length: n }, (_, i) => probs[i * C + c]);
    const negatives = new Array<number>(DEFAULT_BINS).fill(0);
    const positives = new Array<number>(DEFAULT_BINS).fill(0);
    scores.forEach((s, i) => ((labels[i] === c ? positives : negatives)[Math.min(DEFAULT_BINS - 1, Math.floor(s * DEFAULT_BINS))] += 1));
    const exact = exactAuc(
      scores,
      Array.from(labels, (y) => y === c),
    );
    worst = Math.max(worst, Math.abs(histogramAuc(negatives, positives).auc - exact));
  }
  assert.ok(worst > 0.005, `equal-width error ${worst}`);
});
