import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, parseStrategyConfig } from './config';
import { AggregationError } from './errors';
import { model } from './testing';

const round1 = [
  { hospitalId: 'a', examples: 10, weights: model(41, 0.1, 0.5) },
  { hospitalId: 'b', examples: 30, weights: model(42, -0.05, 0.5) },
];
const round2 = [
  { hospitalId: 'a', examples: 20, weights: model(43, 0.02, 0.5) },
  { hospitalId: 'c', examples: 12, weights: model(44, -0.1, 0.5) },
];

for (const name of ['fedadam', 'fedyogi', 'fedadagrad', 'fedavgm'] as const) {
  test(`${name}: a restarted coordinator that restores the exported state continues exactly`, () => {
    const config = parseStrategyConfig({ name });
    const first = createStrategy(config);
    first.begin(1, model(40));
    round1.forEach((u) => first.accumulate(u));
    const g1 = first.finish().weights;
    const saved = first.exportState();
    assert.ok(saved.length > 0);
    assert.ok(saved.every((t) => /^(m|v|momentum)\//.test(t.name)));
    first.begin(2, g1);
    round2.forEach((u) => first.accumulate(u));
    const uninterrupted = first.finish().weights;

    const restarted = createStrategy(config);
    restarted.importState(saved);
    restarted.begin(2, g1);
    round2.forEach((u) => restarted.accumulate(u));
    const resumed = restarted.finish().weights;
    assert.deepEqual(
      resumed.map((t) => Array.from(t.values)),
      uninterrupted.map((t) => Array.from(t.values)),
    );

    // without the state, round 2 comes out differently: the test can tell
    const forgetful = createStrategy(config);
    forgetful.begin(2, g1);
    round2.forEach((u) => forgetful.accumulate(u));
    assert.notDeepEqual(
      forgetful.finish().weights.map((t) => Array.from(t.values)),
      uninterrupted.map((t) => Array.from(t.values)),
    );
  });
}

test('state that does not fit is refused clearly', () => {
  const fedavg = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  assert.deepEqual(fedavg.exportState(), []);
  assert.throws(() => fedavg.importState([{ name: 'm/x', shape: [1], values: new Float32Array(1) }]), /fedavg keeps no server state/);
  const adam = createStrategy(parseStrategyConfig({ name: 'fedadam' }));
  assert.throws(() => adam.importState([{ name: 'momentum/x', shape: [1], values: new Float32Array(1) }]), /unexpected tensor momentum\/x/);
  adam.importState([{ name: 'm/dense/bias', shape: [3], values: new Float32Array(3) }]);
  adam.begin(1, model(40));
  round1.forEach((u) => adam.accumulate(u));
  assert.throws(
    () => adam.finish(),
    (e: unknown) => e instanceof AggregationError && /expected m\/conv1\/conv\/kernel with 72 values, but got none/.test(e.message),
  );
});
