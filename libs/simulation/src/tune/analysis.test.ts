import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mainEffects, snLargerIsBetter } from './analysis';
import { L9 } from './l9';

const close = (a: number, b: number, tol = 1e-5, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} expected ${b}, got ${a}`);

test('larger-is-better S/N against hand-computed values', () => {
  close(snLargerIsBetter([0.5]), -6.0206, 1e-4); // 20·log10(0.5)
  close(snLargerIsBetter([1]), 0);
  close(snLargerIsBetter([0.8497]), 20 * Math.log10(0.8497));
  // two responses: mean(1/y²) = (4 + 1) / 2 = 2.5, so −10·log10(2.5)
  close(snLargerIsBetter([0.5, 1]), -3.9794, 1e-4);
  // an accuracy of 0 is floored at 1e-6 instead of −∞
  close(snLargerIsBetter([0]), -120);
  assert.throws(() => snLargerIsBetter([]), /at least one response/);
  assert.throws(() => snLargerIsBetter([Number.NaN]), /finite/);
});

test('main effects, deltas, ranks and best levels of an L9 against hand-computed values', () => {
  const y = [0.6, 0.7, 0.8, 0.5, 0.9, 0.6, 0.7, 0.8, 0.5];
  const factors = [
    { name: 'A', values: ['a1', 'a2', 'a3'] },
    { name: 'B', values: [1, 2, 3] },
    { name: 'C', values: ['c1', 'c2', 'c3'] },
    { name: 'D', values: ['d1', 'd2', 'd3'] },
  ];
  const effects = mainEffects(
    factors,
    L9.map((levels, i) => ({ levels, responses: [y[i]] })),
  );
  // Level means: e.g. B level 2 holds trials 2, 5, 8 (0.7, 0.9, 0.8) → 0.8;
  // its S/N is (20/3)·log10(0.7·0.9·0.8) = −1.983796.
  const expected = [
    { means: [0.7, 0.666667, 0.666667], sn: [-3.157738, -3.790908, -3.685613], dMean: 0.033333, dSn: 0.63317, rank: 3, best: 0 },
    { means: [0.6, 0.8, 0.633333], sn: [-4.518538, -1.983796, -4.131925], dMean: 0.2, dSn: 2.534742, rank: 2, best: 1 },
    { means: [0.666667, 0.566667, 0.8], sn: [-3.60405, -5.046413, -1.983796], dMean: 0.233333, dSn: 3.062617, rank: 1, best: 2 },
    { means: [0.666667, 0.666667, 0.7], sn: [-3.790908, -3.544351, -3.299], dMean: 0.033333, dSn: 0.491908, rank: 4, best: 2 },
  ];
  effects.forEach((e, f) => {
    const x = expected[f];
    e.levels.forEach((l, i) => {
      close(l.mean, x.means[i], 1e-5, `${e.factor} level ${i + 1} mean`);
      close(l.sn, x.sn[i], 1e-5, `${e.factor} level ${i + 1} S/N`);
      assert.equal(l.trials.length, 3);
    });
    close(e.deltaMean, x.dMean, 1e-5, `${e.factor} delta`);
    close(e.deltaSn, x.dSn, 1e-5, `${e.factor} S/N delta`);
    assert.equal(e.rankSn, x.rank, `${e.factor} rank`);
    assert.equal(e.best.level, x.best, `${e.factor} best level`);
  });
  assert.deepEqual(effects[1].levels[1].trials, [2, 5, 8]);
  assert.equal(effects[1].best.value, 2);
  // Mean deltas of A and D tie: both rank 3 by mean, C first, B second.
  assert.deepEqual(effects.map((e) => e.rankMean), [3, 2, 1, 3]);
});
