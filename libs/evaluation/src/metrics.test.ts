import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeMetrics } from './metrics';
import { addPredictions, createSummary } from './summary';

const close = (actual: number, expected: number, what: string, tol = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);

/**
 * 16 examples over classes a, b, c with confusion (rows true, columns predicted)
 *   a: 5 1 0
 *   b: 2 3 1
 *   c: 0 0 4
 * Right answers have top score 0.9, wrong ones 0.4.
 */
function handCase() {
  const confusion = [
    [5, 1, 0],
    [2, 3, 1],
    [0, 0, 4],
  ];
  const probs: number[] = [];
  const labels: number[] = [];
  const losses: number[] = [];
  confusion.forEach((row, t) =>
    row.forEach((k, p) => {
      for (let i = 0; i < k; i++) {
        const top = t === p ? 0.9 : 0.4;
        const rest = (1 - top) / 2;
        probs.push(...[0, 1, 2].map((c) => (c === p ? top : rest)));
        labels.push(t);
        losses.push(t === p ? 0.25 : 2);
      }
    }),
  );
  const summary = addPredictions(createSummary(['a', 'b', 'c'], { calibrationBins: 2 }), new Float32Array(probs), labels, new Float32Array(losses));
  return computeMetrics(summary);
}

test('accuracy, balanced accuracy and per-class counts of a hand-worked confusion matrix', () => {
  const m = handCase();
  assert.deepEqual(m.confusion, [
    [5, 1, 0],
    [2, 3, 1],
    [0, 0, 4],
  ]);
  close(m.accuracy, 12 / 16, 'accuracy');
  close(m.balancedAccuracy, (5 / 6 + 3 / 6 + 4 / 4) / 3, 'balanced accuracy');
  const [a, b, c] = m.perClass;
  close(a.precision, 5 / 7, 'precision a');
  close(b.precision, 3 / 4, 'precision b');
  close(c.precision, 4 / 5, 'precision c');
  close(a.recall, 5 / 6, 'recall a');
  close(a.specificity, 8 / 10, 'specificity a');
  close(b.specificity, 9 / 10, 'specificity b');
  close(c.specificity, 11 / 12, 'specificity c');
  close(a.f1, 10 / 13, 'f1 a');
  close(b.f1, 6 / 10, 'f1 b');
  close(c.f1, 8 / 9, 'f1 c');
  assert.deepEqual(
    m.perClass.map((x) => x.support),
    [6, 6, 4],
  );
  close(m.macro.precision, (5 / 7 + 3 / 4 + 4 / 5) / 3, 'macro precision');
  close(m.weighted.f1, (6 * (10 / 13) + 6 * 0.6 + 4 * (8 / 9)) / 16, 'weighted f1');
  close(m.weighted.recall, m.accuracy, 'weighted recall is accuracy');
  close(m.loss, (12 * 0.25 + 4 * 2) / 16, 'mean loss');
});

test("Cohen's kappa: (po - pe) / (1 - pe) from the marginals", () => {
  // po = 12/16; pe = (6·7 + 6·4 + 4·5) / 16² = 86/256; kappa = (192 - 86) / (256 - 86) = 106/170.
  close(handCase().kappa, 106 / 170, 'kappa');
  const perfect = addPredictions(createSummary(['x', 'y']), new Float32Array([1, 0, 0, 1]), [0, 1]);
  close(computeMetrics(perfect).kappa, 1, 'perfect kappa');
  // Always predicting x: agreement only by chance.
  const constant = addPredictions(createSummary(['x', 'y']), new Float32Array([0.8, 0.2, 0.7, 0.3]), [0, 1]);
  close(computeMetrics(constant).kappa, 0, 'constant kappa');
});

test('expected calibration error: sum over bins of |right - confidence| / n', () => {
  // Bin [0, 0.5): 4 wrong answers at 0.4 → |0 - 1.6|. Bin [0.5, 1]: 12 right at 0.9 → |12 - 10.8|. ECE = 2.8 / 16.
  close(handCase().ece, 2.8 / 16, 'ece', 1e-6);
  const calibrated = addPredictions(createSummary(['x', 'y'], { calibrationBins: 10 }), new Float32Array([0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.25, 0.75]), [0, 0, 0, 0]);
  close(computeMetrics(calibrated).ece, 0, 'calibrated ece');
});

test('undefined ratios are NaN and the averages skip them', () => {
  // Class c never occurs and is never predicted.
  const s = addPredictions(createSummary(['a', 'b', 'c']), new Float32Array([0.7, 0.2, 0.1, 0.6, 0.3, 0.1, 0.2, 0.7, 0.1]), [0, 1, 1]);
  const m = computeMetrics(s);
  const c = m.perClass[2];
  assert.ok(Number.isNaN(c.precision) && Number.isNaN(c.recall) && Number.isNaN(c.auc) && Number.isNaN(c.f1));
  assert.equal(c.specificity, 1);
  close(m.balancedAccuracy, (1 + 0.5) / 2, 'balanced accuracy over a and b');
  close(m.macro.recall, (1 + 0.5) / 2, 'macro recall over a and b');
  close(m.macroAuc, (m.perClass[0].auc + m.perClass[1].auc) / 2, 'macro AUC over a and b');
  const empty = computeMetrics(createSummary(['a', 'b']));
  assert.ok(Number.isNaN(empty.accuracy) && Number.isNaN(empty.loss) && Number.isNaN(empty.ece));
});

test('without losses the loss is the cross-entropy of the true class, clipped like Keras', () => {
  const s = addPredictions(createSummary(['a', 'b']), new Float32Array([0.5, 0.5, 1, 0]), [0, 1]);
  close(computeMetrics(s).loss, (Math.log(2) - Math.log(1e-7)) / 2, 'loss', 1e-6);
});
