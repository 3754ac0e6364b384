// maxWeight: no hospital's share of a weighted average above the cap, exactly,
// on the streaming path; checked against shares found another way (bisection).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedWeights } from '@fedxray/protocol';
import { cappedShares, maxCut } from './aggregate';
import { STRATEGY_NAMES, createStrategy, parseStrategyConfig, strategyInfo } from './config';
import { AggregationError } from './errors';
import type { ClientUpdate, Strategy } from './strategy';
import { assertClose, feed, model, rng, toNumbers } from './testing';

/** Shares min(cap, λ·count) adding up to 1, λ found by bisection in float64 (equal shares when n·cap ≤ 1). */
function referenceShares(counts: number[], cap: number): number[] {
  const n = counts.length;
  if (n * cap <= 1) return counts.map(() => 1 / n);
  const total = (lambda: number) => counts.reduce((a, c) => a + Math.min(cap, lambda * c), 0);
  let lo = 0;
  let hi = 1 / Math.min(...counts);
  for (let i = 0; i < 2000 && lo < hi; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (total(mid) < 1) lo = mid;
    else hi = mid;
  }
  return counts.map((c) => Math.min(cap, hi * c));
}

/** Σ shareᵢ·xᵢ in float64. */
function referenceCapped(updates: ClientUpdate[], cap: number): number[][] {
  const shares = referenceShares(
    updates.map((u) => u.examples),
    cap,
  );
  return updates[0].weights.map((t, s) => Array.from(t.values, (_, i) => updates.reduce((a, u, j) => a + shares[j] * u.weights[s].values[i], 0)));
}

const CAPS = [0.05, 0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.9, 1];

test('cappedShares: water-filling, as a bisection on λ finds it; equal shares when n·cap ≤ 1', () => {
  const r = rng(7);
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + Math.floor(((r() + 1) / 2) * 14);
    const counts = Array.from({ length: n }, () => {
      const u = (r() + 1) / 2;
      return u < 0.1 ? 1e12 : u < 0.2 ? 100 : 1 + Math.floor(u * 500);
    });
    const cap = CAPS[trial % CAPS.length];
    const got = cappedShares(counts, cap);
    const want = referenceShares(counts, cap);
    got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1e-12, `counts ${counts}, cap ${cap}: share ${i} ${g} ≠ ${want[i]}`));
    assert.ok(Math.abs(got.reduce((a, b) => a + b, 0) - 1) <= 1e-12);
    if (n * cap > 1) {
      assert.ok(Math.max(...got) <= cap, `counts ${counts}, cap ${cap}: ${Math.max(...got)} above the cap`);
      // never more cut than the streaming path holds
      const cut = got.filter((g, i) => g === cap && (counts[i] * 1) / counts.reduce((a, b) => a + b, 0) > cap).length;
      assert.ok(cut <= maxCut(cap));
    }
  }
  assert.deepEqual(cappedShares([3, 1], 0.5), [0.5, 0.5]);
  assert.deepEqual(cappedShares([1, 1, 1e12], 0.2), [1 / 3, 1 / 3, 1 / 3], 'n·cap < 1: equal shares');
  assert.deepEqual(cappedShares([10, 30, 60], 1), [0.1, 0.3, 0.6], 'cap 1: the plain shares');
  // ⌈1/cap⌉ − 1, or one more where the float64 steps of 1 − k·cap leave a sliver above the cap (0.2 and 0.1: 1 − 4 × 0.2 > 0.2 in float64)
  assert.deepEqual(
    [0.5, 0.3, 0.25, 0.2, 0.1, 1].map(maxCut),
    [1, 3, 3, 5, 10, 0],
  );
  assert.throws(() => cappedShares([1, 2], 0), (e: unknown) => e instanceof AggregationError && e.code === 'bad_config');
});

function updatesWith(counts: number[], seed: number): ClientUpdate[] {
  return counts.map((examples, j) => ({ hospitalId: `h${j}`, examples, weights: model(seed + j, j % 3, 1 + j) }));
}

/** One round; updates decoded into intake() when asked and offered. */
function runRound(s: Strategy, global: NamedWeights, updates: ClientUpdate[], intake: boolean) {
  s.begin(1, global);
  for (const u of updates) {
    if (intake) feed(s, u);
    else s.accumulate(u);
  }
  return s.finish();
}

const orders: Record<string, (c: number[]) => number[]> = {
  ascending: (c) => [...c].sort((a, b) => a - b), // every arrival enters the held set
  descending: (c) => [...c].sort((a, b) => b - a),
  mixed: (c) => c,
};

test('FedAvg with maxWeight gives every hospital exactly its capped share, on every engine, group and arrival order', () => {
  const base = [120, 7, 1e12, 33, 1000, 33, 5e11, 64, 2];
  for (const arrange of Object.values(orders)) {
    const updates = updatesWith(arrange(base), 40);
    for (const cap of [0.5, 0.3, 0.25, 0.1, 0.05]) {
      const want = referenceCapped(updates, cap);
      for (const [backend, intake] of [
        ['wasm', true],
        ['wasm', false],
        ['js', false],
      ] as const) {
        for (const groupUpdates of [1, 3, 16]) {
          const s = createStrategy(parseStrategyConfig({ name: 'fedavg', maxWeight: cap, groupUpdates }), { backend });
          const r = runRound(s, model(9), updates, intake);
          s.dispose();
          assert.equal(r.used.length, updates.length);
          assertClose(r.weights, want, 1e-6);
        }
      }
    }
  }
});

test('a hospital claiming 10^12 examples gets at most the cap, in every weighted strategy', () => {
  // the liar's update is all ones, the others' all zeros: the result is the liar's share
  const zeros = model(1).map((t) => ({ ...t, values: new Float32Array(t.values.length) }));
  const ones = zeros.map((t) => ({ ...t, values: new Float32Array(t.values.length).fill(1) }));
  const honest = [100, 120, 80, 95].map((examples, j) => ({ hospitalId: `h${j}`, examples, weights: zeros }));
  const liar = { hospitalId: 'liar', examples: 1e12, weights: ones };
  const uncapped = runRound(createStrategy(parseStrategyConfig({ name: 'fedavg' })), zeros, [...honest, liar], false);
  assert.ok(uncapped.weights[6].values[0] > 0.999999, 'without a cap the liar takes the model over');
  for (const config of [
    { name: 'fedavg', maxWeight: 0.25 },
    { name: 'fedprox', maxWeight: 0.25 },
    { name: 'fedavgm', maxWeight: 0.25, serverLearningRate: 1, serverMomentum: 0 },
    { name: 'multikrum', maxWeight: 0.25 },
  ]) {
    for (const intake of [false, true]) {
      const r = runRound(createStrategy(parseStrategyConfig(config)), zeros, [liar, ...honest], intake);
      for (const t of r.weights) for (const v of t.values) assert.ok(Math.abs(v - 0.25) <= 1e-7, `${config.name}: liar's share ${v}`);
    }
  }
});

for (const name of STRATEGY_NAMES.filter((n) => strategyInfo(n).weightedMean)) {
  test(`${name} with maxWeight takes its server step from the capped mean`, () => {
    const updates = updatesWith([10, 2e9, 30, 25], 60);
    const global = model(5, 0, 0.5);
    const capped = runRound(createStrategy(parseStrategyConfig({ name, maxWeight: 0.4 })), global, updates, true);
    // the same rule given one update equal to the capped mean
    const mean = referenceCapped(updates, 0.4);
    const single = [{ hospitalId: 'm', examples: 1, weights: global.map((t, s) => ({ ...t, values: Float32Array.from(mean[s]) })) }];
    const want = runRound(createStrategy(parseStrategyConfig({ name })), global, single, false);
    assertClose(capped.weights, toNumbers(want.weights), 1e-5);
  });
}

test('with maxWeight an update with NaN or ±Inf is refused at accumulate, and memory holds at most maxCut(cap) more updates', () => {
  const updates = updatesWith([5, 50, 500, 5000, 50_000, 7, 70, 700], 80);
  const modelBytes = updates[0].weights.reduce((a, t) => a + t.values.byteLength, 0);
  const capped = createStrategy(parseStrategyConfig({ name: 'fedavg', maxWeight: 0.25, groupUpdates: 2 }));
  capped.begin(1, model(9));
  const accumulator = capped.retainedBytes();
  const bad = model(3);
  bad[6].values[17] = Number.NaN;
  for (const u of updates) {
    capped.accumulate(u);
    // the accumulator, at most groupUpdates held by the sum, and at most maxCut(0.25) = 3 held for the cap
    const bound = accumulator + (2 + maxCut(0.25)) * modelBytes;
    assert.ok(capped.retainedBytes() <= bound, `${capped.retainedBytes()} bytes held, more than ${bound}`);
    assert.throws(
      () => capped.accumulate({ hospitalId: 'bad', examples: 1e6, weights: bad }),
      (e: unknown) => e instanceof AggregationError && e.code === 'not_finite' && /Update from bad: dense\/bias\[17\] is NaN/.test(e.message),
    );
  }
  const r = capped.finish();
  assert.deepEqual(r.refused, []);
  assertClose(r.weights, referenceCapped(updates, 0.25), 1e-6);
});
