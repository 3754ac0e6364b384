import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvaluationError } from './errors';
import { computeMetrics } from './metrics';
import type { Metrics } from './metrics';
import { addPredictions, checkSummary, createSummary, mergeSummaries } from './summary';
import { syntheticOutputs } from './synthetic';

const CLASSES = ['covid19', 'normal', 'pneumonia', 'tuberculosis'];

/** Compares metrics: counts exactly, floating sums to 1e-12 (they are added in another order). */
function assertSameMetrics(a: Metrics, b: Metrics): void {
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (typeof x === 'number' && typeof y === 'number') {
      if (Number.isNaN(x) || Number.isNaN(y)) assert.equal(Number.isNaN(x), Number.isNaN(y), path);
      else assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)), `${path}: ${x} vs ${y}`);
    } else if (x && typeof x === 'object') {
      assert.deepEqual(Object.keys(x), Object.keys(y as object), path);
      for (const k of Object.keys(x)) walk((x as any)[k], (y as any)[k], `${path}.${k}`);
    } else assert.equal(x, y, path);
  };
  walk(a, b, 'metrics');
}

test('merging per-hospital summaries gives exactly the metrics of the pooled predictions', () => {
  const C = CLASSES.length;
  const n = 3000;
  const { probs, labels } = syntheticOutputs(n, C, 2.5, 2, 11);
  const losses = Float32Array.from(labels, (y, i) => -Math.log(Math.max(1e-7, probs[i * C + y])));
  // Three hospitals of unequal size, each adding its predictions in batches.
  const cuts = [0, 400, 1700, n];
  const hospitals = [0, 1, 2].map((h) => {
    const s = createSummary(CLASSES);
    for (let start = cuts[h]; start < cuts[h + 1]; start += 64) {
      const end = Math.min(cuts[h + 1], start + 64);
      addPredictions(s, probs.subarray(start * C, end * C), labels.subarray(start, end), losses.subarray(start, end));
    }
    return s;
  });
  const pooled = addPredictions(createSummary(CLASSES), probs, labels, losses);
  const merged = mergeSummaries(hospitals);

  assert.deepEqual(merged.confusion, pooled.confusion);
  assert.deepEqual(merged.histograms, pooled.histograms);
  assert.deepEqual(merged.calibration.count, pooled.calibration.count);
  assert.deepEqual(merged.calibration.correct, pooled.calibration.correct);
  assert.equal(merged.count, n);
  assertSameMetrics(computeMetrics(merged), computeMetrics(pooled));
  // …and the hospitals differ from each other, so the merge had something to do.
  assert.notDeepEqual(computeMetrics(hospitals[0]).accuracy, computeMetrics(hospitals[2]).accuracy);
});

test('merging refuses summaries over other classes, class order, or bin counts', () => {
  const a = createSummary(['a', 'b', 'c']);
  assert.throws(() => mergeSummaries([a, createSummary(['a', 'b'])]), /expected classes \[a, b, c\] in that order, but got \[a, b\]/);
  assert.throws(() => mergeSummaries([a, createSummary(['b', 'a', 'c'])]), /in that order/);
  assert.throws(() => mergeSummaries([a, createSummary(['a', 'b', 'c'], { bins: 100 })]), /expected 2000 bins, but got 100/);
  assert.throws(() => mergeSummaries([a, createSummary(['a', 'b', 'c'], { calibrationBins: 10 })]), /expected 15 calibration bins, but got 10/);
  assert.throws(() => mergeSummaries([]), /at least one summary/);
});

test('a summary that does not add up is refused, naming what is off', () => {
  const s = addPredictions(createSummary(['a', 'b'], { bins: 10 }), new Float32Array([0.9, 0.1, 0.3, 0.7]), [0, 1]);
  checkSummary(s);
  const lying = structuredClone(s);
  lying.count = 3;
  assert.throws(() => mergeSummaries([s, lying]), (e: Error) => e instanceof EvaluationError && /summary 1: confusion matrix holds 2 examples but count says 3/.test(e.message));
  const shortHistogram = structuredClone(s);
  shortHistogram.histograms[1][0] = [1];
  assert.throws(() => checkSummary(shortHistogram), /histograms\[1\] to be 2×10 counts/);
  const moved = structuredClone(s);
  const bin = moved.histograms[0][1].findIndex((v) => v > 0);
  moved.histograms[0][1][bin] -= 1;
  moved.histograms[0][0][bin] += 1;
  assert.throws(() => checkSummary(moved), /histograms\[0\] holds 0 positives/);
  const tooRight = structuredClone(s);
  const used = tooRight.calibration.count.findIndex((n) => n > 0);
  tooRight.calibration.correct[used] = tooRight.calibration.count[used] + 1;
  assert.throws(() => checkSummary(tooRight), new RegExp(`calibration bin ${used} holds`));
  const offDiagonal = structuredClone(s);
  offDiagonal.confusion = [
    [0, 1],
    [1, 0],
  ];
  for (const c of [0, 1]) offDiagonal.histograms[c] = s.histograms[c];
  assert.throws(() => checkSummary(offDiagonal), /calibration counts 2 right predictions, but the confusion matrix's diagonal 0/);
  const negativeLoss = structuredClone(s);
  negativeLoss.lossSum = -1;
  assert.throws(() => computeMetrics(negativeLoss), /lossSum/);
});

test('bad predictions are refused with what was expected and what arrived', () => {
  const s = createSummary(['a', 'b', 'c']);
  assert.throws(() => addPredictions(s, new Float32Array(5), [0, 1]), /Expected 2×3 = 6 scores for 2 labels and 3 classes, but got 5/);
  assert.throws(() => addPredictions(s, new Float32Array(6), [0, 3]), /label 1 to be a class index in 0…2, but got 3/);
  assert.throws(() => addPredictions(s, new Float32Array([0.2, NaN, 0.8]), [0]), /example 0 has NaN for class b/);
  assert.throws(() => addPredictions(s, new Float32Array([0.2, 0, 0.8]), [0], new Float32Array([1, 2])), /Expected 1 per-example losses, but got 2/);
  assert.throws(() => addPredictions(s, new Float32Array([0.2, 0, 0.8]), [0], -1), /non-negative loss sum, but got -1/);
  assert.throws(() => createSummary(['a']), /at least 2 class names/);
  assert.throws(() => createSummary(['a', 'a']), /distinct class names/);
  assert.throws(() => createSummary(['a', 'b'], { bins: 0 }), /bins to be an integer in 1…100000, but got 0/);
  assert.equal(s.count, 0, 'a refused batch adds nothing');
});
