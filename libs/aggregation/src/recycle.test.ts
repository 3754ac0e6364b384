// Writing a round's result into arrays the caller no longer uses (FinishOptions.recycle, WeightedSum.mean(into)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedWeights } from '@fedxray/protocol';
import { createStrategy, parseStrategyConfig } from './config';
import { AggregationError } from './errors';
import type { Strategy } from './strategy';
import { model, SHAPES, toNumbers } from './testing';
import { WeightedSum } from './weighted-sum';

const sizes = Object.values(SHAPES).map((s) => s.reduce((a, b) => a * b, 1));
const inputs = [1, 2, 3].map((seed) => model(seed, seed, 1 + seed).map((t) => t.values));

function filledWith(value: number): Float32Array[] {
  return sizes.map((n) => new Float32Array(n).fill(value));
}

// slot mode (intake, with and without the helper thread), held arrays (wasm), and plain js
const engines = [
  { name: 'wasm, intake, helper thread', options: { group: 16, helper: true }, intake: true },
  { name: 'wasm, intake, one thread', options: { group: 2, helper: false }, intake: true },
  { name: 'wasm, held arrays', options: { group: 2 }, intake: false },
  { name: 'js', options: { group: 2, backend: 'js' as const }, intake: false },
];

for (const e of engines) {
  test(`WeightedSum.mean(into) writes the mean into the given arrays (${e.name})`, () => {
    const sum = new WeightedSum(sizes, e.options);
    const run = (into?: Float32Array[]) => {
      inputs.forEach((x, j) => {
        const slot = e.intake ? sum.intake() : null;
        if (slot) x.forEach((t, s) => slot[s].set(t));
        sum.add(slot ?? x, 10 + 7 * j);
      });
      return sum.mean(into);
    };
    try {
      const fresh = run();
      const into = filledWith(NaN);
      const out = run(into);
      out.forEach((a, s) => assert.equal(a, into[s], `array ${s} is the one given`));
      assert.deepEqual(toNumbers(out.map((values, s) => ({ name: `${s}`, shape: [], values }))), toNumbers(fresh.map((values, s) => ({ name: `${s}`, shape: [], values }))));
    } finally {
      sum.dispose();
    }
  });
}

test('WeightedSum.mean(into) refuses arrays of the wrong size and the round\'s own inputs', () => {
  const sum = new WeightedSum(sizes, { group: 4 });
  sum.add(inputs[0], 1);
  sum.add(inputs[1], 2);
  const refused = (into: Float32Array[], code: string, pattern: RegExp) =>
    assert.throws(
      () => sum.mean(into),
      (err: unknown) => err instanceof AggregationError && err.code === code && pattern.test(err.message),
    );
  refused(filledWith(0).slice(1), 'shape_mismatch', /Expected 8 arrays/);
  refused([...filledWith(0).slice(0, 5), new Float32Array(3), ...filledWith(0).slice(6)], 'shape_mismatch', /array 5 .* 36000 values/);
  refused([...inputs[1]], 'bad_config', /one of this round's inputs/);
  // nothing was folded by the refused calls: the mean is still there
  const out = sum.mean(filledWith(0));
  assert.ok(Math.abs(out[0][0] - (inputs[0][0][0] + 2 * inputs[1][0][0]) / 3) < 1e-6);
});

/** One round of `strategy` over three updates, finished with `recycle`. */
function round(strategy: Strategy, r: number, global: NamedWeights, recycle?: NamedWeights) {
  strategy.begin(r, global);
  for (let h = 0; h < 3; h++) {
    const w = model(10 * r + h, h, 0.5);
    const into = strategy.intake();
    const weights = w.map((t) => {
      const slot = into?.get(t.name);
      if (!slot) return t;
      slot.set(t.values);
      return { ...t, values: slot };
    });
    strategy.accumulate({ hospitalId: `h${h}`, examples: 5 + h, weights });
  }
  return strategy.finish({ recycle });
}

for (const [name, config] of [
  ['fedavg', { name: 'fedavg' }],
  ['fedadam', { name: 'fedadam' }],
  ['fedavgm', { name: 'fedavgm', serverMomentum: 0.9 }],
  ['fedavg kept BatchNorm local (FedBN)', { name: 'fedavg' }],
] as const) {
  test(`${name}: finish({ recycle }) writes into the recycled arrays and gives what fresh arrays give`, () => {
    const keepLocal = name.includes('FedBN') ? (n: string) => n.includes('/bn/') : undefined;
    const a = createStrategy(parseStrategyConfig(config), { keepLocal });
    const b = createStrategy(parseStrategyConfig(config), { keepLocal });
    try {
      // three rounds each; b recycles the global of two rounds before, as the coordinator does
      // (in round 2, the initial global)
      let ga = model(99);
      let gb = model(99);
      let retired: NamedWeights | undefined;
      for (let r = 1; r <= 3; r++) {
        ga = round(a, r, ga).weights;
        const rb = round(b, r, gb, retired);
        assert.equal(rb.recycled, r >= 2, `round ${r} recycled`);
        if (r >= 2) {
          rb.weights.forEach((t, i) => {
            const local = keepLocal?.(t.name) ?? false;
            assert.equal(t.values === retired![i].values, !local, `${t.name}: ${local ? 'a fresh copy of the global' : 'the recycled array'}`);
          });
        }
        retired = gb;
        gb = rb.weights;
        assert.deepEqual(toNumbers(gb), toNumbers(ga), `round ${r}`);
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });
}

test('finish({ recycle }) leaves alone what it must not write into', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  const global = model(5);
  const check = (recycle: NamedWeights, why: string) => {
    const before = toNumbers(recycle);
    const r = round(s, 1, global, recycle);
    assert.equal(r.recycled, false, why);
    assert.deepEqual(toNumbers(recycle), before, `${why}: untouched`);
    r.weights.forEach((t, i) => assert.notEqual(t.values, recycle[i]?.values, `${why}: ${t.name} is fresh`));
  };
  check(global, 'the global itself');
  check(model(6).map((t, i) => (i === 2 ? { ...t, values: global[2].values } : t)), 'one array is the global\'s');
  check(model(6).slice(1), 'a tensor missing');
  check(model(6).map((t, i) => (i === 5 ? { ...t, name: 'other/kernel' } : t)), 'a name differs');
  check(model(6).map((t, i) => (i === 6 ? { ...t, values: new Float32Array(8999) } : t)), 'a size differs');
  // dense/kernel (36,000 values) and dense/bias (9,000) as views of one buffer
  const shared = new Float32Array(45000);
  const views = (biasAt: number) => model(6).map((t, i) => (i === 5 ? { ...t, values: shared.subarray(0, 36000) } : i === 6 ? { ...t, values: shared.subarray(biasAt, biasAt + 9000) } : t));
  check(views(30000), 'two arrays overlap');
  const apart = views(36000);
  const r = round(s, 2, global, apart);
  assert.equal(r.recycled, true, 'views of one buffer that do not overlap are used');
  r.weights.forEach((t, i) => assert.equal(t.values, apart[i].values));
  s.dispose();
});

test('robust strategies allocate their result whatever they are offered', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedmedian' }));
  const recycle = model(7);
  const r = round(s, 1, model(5), recycle);
  assert.equal(r.recycled, false);
  r.weights.forEach((t, i) => assert.notEqual(t.values, recycle[i].values));
});
