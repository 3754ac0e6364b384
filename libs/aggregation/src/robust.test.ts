import { test } from 'node:test';
import assert from 'node:assert/strict';
import { krumScores, squaredDistances, trimmedMean } from './aggregate';
import { createStrategy, parseStrategyConfig } from './config';
import { assertClose, model, referenceMean } from './testing';

// Five honest hospitals near the same model, and one poisoned update far away.
const honest = [1, 2, 3, 4, 5].map((i) => ({ hospitalId: `h${i}`, examples: 10 * i, weights: model(100 + i, 0, 0.01) }));
const poisoned = { hospitalId: 'evil', examples: 10_000, weights: model(999, 50, 10) };
const all = [...honest.slice(0, 3), poisoned, ...honest.slice(3)];

function run(config: unknown) {
  const s = createStrategy(parseStrategyConfig(config));
  s.begin(1, model(1));
  for (const u of all) s.accumulate(u);
  return { strategy: s, result: s.finish() };
}

function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}

test('FedAvg is dragged by the poisoned update (the baseline the robust rules beat)', () => {
  const { result } = run({ name: 'fedavg' });
  assert.ok(maxAbs(result.weights[6].values) > 10);
});

test('FedMedian takes the coordinate-wise median and ignores the outlier', () => {
  const { strategy, result } = run({ name: 'fedmedian' });
  assert.equal(strategy.streaming, false);
  const want = honest[0].weights.map((t, s) =>
    Array.from(t.values, (_, i) => {
      const col = all.map((u) => u.weights[s].values[i]).sort((a, b) => a - b);
      return (col[2] + col[3]) / 2;
    }),
  );
  assertClose(result.weights, want);
  assert.ok(maxAbs(result.weights[6].values) < 0.02);
});

test('FedTrimmedAvg drops ⌊β·n⌋ values on each side', () => {
  const { result } = run({ name: 'fedtrimmedavg', beta: 0.2 });
  const want = honest[0].weights.map((t, s) =>
    Array.from(t.values, (_, i) => {
      const col = all.map((u) => u.weights[s].values[i]).sort((a, b) => a - b);
      return (col[1] + col[2] + col[3] + col[4]) / 4;
    }),
  );
  assertClose(result.weights, want);
  assert.ok(maxAbs(result.weights[6].values) < 0.02);
  // β = 0 is the plain mean
  const plain = trimmedMean(
    all.map((u) => u.weights.map((t) => t.values)),
    0,
  );
  assert.ok(Math.abs(plain[6][0] - all.reduce((a, u) => a + u.weights[6].values[0], 0) / all.length) < 1e-5);
});

test('Krum rejects the poisoned update and returns the most central honest one', () => {
  const { result } = run({ name: 'krum', byzantine: 1 });
  assert.equal(result.used.length, 1);
  assert.notEqual(result.used[0], 'evil');
  const chosen = all.find((u) => u.hospitalId === result.used[0])!;
  assert.deepEqual(
    result.weights.map((t) => Array.from(t.values)),
    chosen.weights.map((t) => Array.from(t.values)),
  );
  assert.notEqual(result.weights[0].values, chosen.weights[0].values, 'a copy, not the update itself');
  // the score Krum minimised is the smallest one
  const scores = krumScores(squaredDistances(all.map((u) => u.weights.map((t) => t.values))), 1);
  assert.equal(all[scores.indexOf(Math.min(...scores))].hospitalId, result.used[0]);
  assert.equal(scores.indexOf(Math.max(...scores)), all.indexOf(poisoned));
});

test('MultiKrum averages the n − f best by examples, without the poisoned one', () => {
  const { result } = run({ name: 'multikrum', byzantine: 1 });
  assert.equal(result.used.length, 5);
  assert.ok(!result.used.includes('evil'));
  assertClose(result.weights, referenceMean(honest));
  const two = run({ name: 'multikrum', byzantine: 1, keep: 2 }).result;
  assert.equal(two.used.length, 2);
  assertClose(two.weights, referenceMean(honest.filter((u) => two.used.includes(u.hospitalId))));
});

test('robust rules hold their updates and say so in retainedBytes', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedmedian' }));
  s.begin(1, model(1));
  const per = honest[0].weights.reduce((a, t) => a + t.values.byteLength, 0);
  s.accumulate(honest[0]);
  s.accumulate(honest[1]);
  assert.equal(s.retainedBytes(), 2 * per);
  s.finish();
  assert.equal(s.retainedBytes(), 0);
});
