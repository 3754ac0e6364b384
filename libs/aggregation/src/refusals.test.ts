// Every strategy refuses bad input itself, with typed errors: the library is
// public, and a caller other than the coordinator validates nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedWeights } from '@fedxray/protocol';
import { coordinateMedian, krumScores, squaredDistances, trimmedMean } from './aggregate';
import { STRATEGY_NAMES, createStrategy, parseStrategyConfig, strategyInfo } from './config';
import { AggregationError } from './errors';
import type { ClientUpdate } from './strategy';
import { assertClose, feed, model, toNumbers } from './testing';

const good = [1, 2, 3, 4, 5].map((i) => ({ hospitalId: `h${i}`, examples: 10 * i, weights: model(200 + i, 0, 0.1) }));

function poisoned(value: number): ClientUpdate {
  const weights = model(299, 0, 0.1);
  weights[5].values[123] = value; // dense/kernel[123]
  return { hospitalId: 'bad', examples: 20, weights };
}

function refusal(code: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AggregationError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  };
}

/** One round; returns the result and whether accumulate refused the update `bad`. */
function round(name: string, updates: ClientUpdate[], intake: boolean) {
  const s = createStrategy(parseStrategyConfig({ name }));
  s.begin(1, model(1, 0, 0.1));
  let refusedAtAccumulate = false;
  for (const u of updates) {
    try {
      if (intake) feed(s, u);
      else s.accumulate(u);
    } catch (e) {
      refusal('not_finite', /Update from bad: dense\/kernel\[123\] is (NaN|Infinity|-Infinity); every value must be finite/)(e);
      refusedAtAccumulate = true;
    }
  }
  const r = s.finish();
  s.dispose();
  return { r, refusedAtAccumulate };
}

for (const name of STRATEGY_NAMES) {
  test(`${name}: an update with NaN or ±Inf never shapes the result, whatever the arrival order`, () => {
    const reference = round(name, good, false).r.weights;
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const at of [0, 2, 5]) {
        for (const intake of [false, true]) {
          const updates = [...good.slice(0, at), poisoned(value), ...good.slice(at)];
          const { r, refusedAtAccumulate } = round(name, updates, intake);
          // the robust rules read every value at accumulate; the streaming ones find it while folding
          assert.equal(refusedAtAccumulate, strategyInfo(name).needsIndividualUpdates);
          if (!refusedAtAccumulate) {
            assert.deepEqual(
              r.refused.map((x) => [x.hospitalId, x.code]),
              [['bad', 'not_finite']],
            );
            assert.match(r.refused[0].message, /Update from bad: dense\/kernel\[123\] is (NaN|Infinity|-Infinity); every value must be finite/);
          } else {
            assert.deepEqual(r.refused, []);
          }
          assert.ok(!r.used.includes('bad'));
          assertClose(r.weights, toNumbers(reference), 1e-6);
        }
      }
    }
  });

  test(`${name}: example counts that are not positive numbers of at most 2^53 are refused, and the round goes on`, () => {
    const s = createStrategy(parseStrategyConfig({ name }));
    s.begin(1, model(1, 0, 0.1));
    for (const examples of [0, -3, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2, 1e300, '12' as unknown as number, undefined as unknown as number]) {
      assert.throws(() => s.accumulate({ ...good[0], examples }), refusal('bad_update', /Update from h1: expected a positive number of examples, at most 2\^53, but got/));
    }
    good.forEach((u) => s.accumulate(u));
    assertClose(s.finish().weights, toNumbers(round(name, good, false).r.weights));
  });

  test(`${name}: a second update from the same hospital, and names or shapes unlike the round's global, are refused`, () => {
    const s = createStrategy(parseStrategyConfig({ name }));
    s.begin(4, model(1, 0, 0.1));
    s.accumulate(good[0]);
    assert.throws(() => s.accumulate({ ...good[1], hospitalId: 'h1' }), refusal('duplicate_update', /Update from h1: this hospital already contributed to round 4/));
    const w = () => model(7, 0, 0.1);
    const cases: [NamedWeights, string, RegExp][] = [
      [w().map((t, i) => (i === 0 ? { ...t, name: 'conv1/kernel' } : t)), 'shape_mismatch', /unknown tensor conv1\/kernel/],
      [w().map((t) => (t.name === 'dense/kernel' ? { ...t, shape: [9000, 4] } : t)), 'shape_mismatch', /expected dense\/kernel to have shape \[4,9000\], but got \[9000,4\]/],
      [w().map((t) => (t.name === 'dense/bias' ? { ...t, values: t.values.subarray(2) } : t)), 'shape_mismatch', /expected 9000 values for dense\/bias, but got 8998/],
      [w().slice(1), 'shape_mismatch', /missing tensor conv1\/conv\/kernel/],
      [w().map((t) => (t.name === 'scalar' ? { ...t, values: new Float64Array(1) as unknown as Float32Array } : t)), 'bad_update', /expected scalar to hold a Float32Array/],
    ];
    for (const [weights, code, pattern] of cases) assert.throws(() => s.accumulate({ hospitalId: 'x', examples: 5, weights }), refusal(code, pattern));
    good.slice(1).forEach((u) => s.accumulate(u));
    const r = s.finish();
    assert.ok(!r.used.includes('x'));
    assertClose(r.weights, toNumbers(round(name, good, false).r.weights));
  });
}

test('when the fold refuses every update, finish says so and the round stays open for them to send again', () => {
  for (const intake of [false, true]) {
    const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
    s.begin(3, model(1, 0, 0.1));
    const a = poisoned(Number.NaN);
    const b = { ...poisoned(Number.POSITIVE_INFINITY), hospitalId: 'bad2' };
    for (const u of [a, b]) {
      if (intake) feed(s, u);
      else s.accumulate(u);
    }
    assert.throws(() => s.finish(), refusal('no_updates', /Round 3: every update was refused: Update from (bad|bad2): dense\/kernel\[123\] is (NaN|Infinity)/));
    s.accumulate({ ...good[0], hospitalId: 'bad' });
    const r = s.finish();
    assert.deepEqual(r.used, ['bad']);
    assertClose(r.weights, toNumbers(good[0].weights));
    s.dispose();
  }
});

for (const name of ['krum', 'multikrum']) {
  test(`${name} with n ≤ 2f + 2 is refused at creation when n is known, else at finish naming n and f, and the round stays open`, () => {
    assert.throws(
      () => createStrategy(parseStrategyConfig({ name, byzantine: 1 }), { updatesPerRound: 4 }),
      refusal('bad_config', new RegExp(`${name} with byzantine f = 1 needs more than 2f \\+ 2 = 4 updates, but got n = 4`)),
    );
    createStrategy(parseStrategyConfig({ name, byzantine: 1 }), { updatesPerRound: 5 });
    const s = createStrategy(parseStrategyConfig({ name, byzantine: 1 }));
    s.begin(2, model(1, 0, 0.1));
    good.slice(0, 4).forEach((u) => s.accumulate(u));
    assert.throws(() => s.finish(), refusal('too_few_updates', new RegExp(`Round 2: ${name} with byzantine f = 1 needs more than 2f \\+ 2 = 4 updates, but got n = 4`)));
    // one more update arrives: n = 5 > 4
    s.accumulate(good[4]);
    assert.equal(s.finish().used.length, name === 'krum' ? 1 : 4);
  });
}

test('the pure rules refuse what the strategies refuse', () => {
  const inputs = good.map((u) => u.weights.map((t) => t.values));
  const bad = poisoned(Number.NaN).weights.map((t) => t.values);
  assert.throws(() => coordinateMedian([...inputs, bad]), refusal('not_finite', /input 5 has NaN at tensor 5\[123\]/));
  assert.throws(() => trimmedMean([bad, ...inputs], 0.2), refusal('not_finite', /input 0 has NaN at tensor 5\[123\]/));
  assert.throws(() => squaredDistances([inputs[0], bad]), refusal('not_finite', /input 1 has NaN at tensor 5\[123\]/));
  const d = squaredDistances(inputs.slice(0, 4));
  assert.throws(() => krumScores(d, 1), refusal('too_few_updates', /byzantine f = 1 needs more than 2f \+ 2 = 4 updates, but got n = 4/));
  assert.equal(krumScores(squaredDistances(inputs), 1).length, 5);
  // trimmed-mean fractions that would leave nothing to average
  for (const beta of [0.5, 0.7, -0.1, Number.NaN]) assert.throws(() => trimmedMean(inputs, beta), refusal('bad_config', /Expected beta in \[0, 0\.5\)/));
  assert.throws(() => parseStrategyConfig({ name: 'fedtrimmedavg', beta: 0.5 }), refusal('bad_config', /at beta/));
});
