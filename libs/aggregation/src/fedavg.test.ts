import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStrategy, parseStrategyConfig } from './config';
import { AggregationError } from './errors';
import { assertClose, model, referenceMean, toNumbers } from './testing';

const updates = [
  { hospitalId: 'a', examples: 120, weights: model(1) },
  { hospitalId: 'b', examples: 7, weights: model(2, 0.5, 3) },
  { hospitalId: 'c', examples: 1000, weights: model(3, -2, 0.01) },
  { hospitalId: 'd', examples: 33, weights: model(4, 100, 50) },
];

for (const backend of ['wasm', 'js'] as const) {
  for (const groupUpdates of [1, 3, 64]) {
    test(`FedAvg (${backend}, groupUpdates ${groupUpdates}) is the example-weighted mean`, () => {
      const s = createStrategy(parseStrategyConfig({ name: 'fedavg', groupUpdates }), { backend });
      assert.equal(s.streaming, true);
      s.begin(1, model(9));
      for (const u of updates) s.accumulate(u);
      const r = s.finish();
      assert.deepEqual(r.used, ['a', 'b', 'c', 'd']);
      assert.deepEqual(
        r.weights.map((t) => [t.name, t.shape]),
        updates[0].weights.map((t) => [t.name, t.shape]),
      );
      assertClose(r.weights, referenceMean(updates));
      assert.notEqual(r.weights[0].values, updates[0].weights[0].values, 'fresh arrays');
    });
  }
}

test('FedAvg with a server learning rate moves trained tensors η times the mean update and takes the mean of BatchNorm moving statistics', () => {
  const global = model(9);
  const mean = referenceMean(updates);
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg', serverLearningRate: 1.5 }));
  s.begin(1, global);
  for (const u of updates) s.accumulate(u);
  const r = s.finish();
  const statistic = (name: string) => name.endsWith('/moving_mean') || name.endsWith('/moving_variance');
  const want = global.map((t, k) => (statistic(t.name) ? mean[k] : Array.from(t.values, (x, i) => x + 1.5 * (mean[k][i] - x))));
  assertClose(r.weights, want, 1e-5);
  // a variance the mean keeps positive stays positive: 1.5·mean − 0.5·x would not
  const variance = r.weights.find((t) => t.name === 'conv1/bn/moving_variance')!;
  assert.deepEqual(Array.from(variance.values), Array.from(Float32Array.from(mean[global.findIndex((t) => t.name === variance.name)])));
  // on trained tensors, the same step as FedAvgM with β = 0 (Flower's arithmetic)
  const m = createStrategy(parseStrategyConfig({ name: 'fedavgm', serverLearningRate: 1.5, serverMomentum: 0 }));
  m.begin(1, global);
  for (const u of updates) m.accumulate(u);
  const names = global.filter((t) => !statistic(t.name)).map((t) => t.name);
  assertClose(r.weights, m.finish().weights.map((t) => Array.from(t.values)), 1e-5, names);
  // η = 1 is the mean itself
  const one = createStrategy(parseStrategyConfig({ name: 'fedavg', serverLearningRate: 1 }));
  one.begin(1, global);
  for (const u of updates) one.accumulate(u);
  assertClose(one.finish().weights, mean);
  assert.throws(() => parseStrategyConfig({ name: 'fedavg', serverLearningRate: 0 }));
});

test('a second round starts from scratch', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  s.begin(1, model(9));
  s.accumulate(updates[0]);
  s.finish();
  s.begin(2, model(9));
  s.accumulate(updates[1]);
  s.accumulate(updates[2]);
  assertClose(s.finish().weights, referenceMean([updates[1], updates[2]]));
});

test('FedProx averages like FedAvg and hands μ to hospitals', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedprox', proximalMu: 0.05 }));
  assert.deepEqual(s.fitConfig(1), { proximalMu: 0.05 });
  assert.deepEqual(createStrategy(parseStrategyConfig({ name: 'fedavg' })).fitConfig(1), {});
  s.begin(1, model(9));
  for (const u of updates) s.accumulate(u);
  assertClose(s.finish().weights, referenceMean(updates));
});

function refused(fn: () => void, code: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AggregationError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}

test('mismatched names, shapes and sizes are refused with clear errors; the round goes on', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  refused(() => s.accumulate(updates[0]), 'not_begun', /call begin/);
  s.begin(3, model(9));
  const renamed = model(5).map((t, i) => (i === 1 ? { ...t, name: 'conv1/bn/gama' } : t));
  refused(() => s.accumulate({ hospitalId: 'x', examples: 1, weights: renamed }), 'shape_mismatch', /x: unknown tensor conv1\/bn\/gama/);
  const reshaped = model(5).map((t) => (t.name === 'dense/kernel' ? { ...t, shape: [9000, 4] } : t));
  refused(
    () => s.accumulate({ hospitalId: 'x', examples: 1, weights: reshaped }),
    'shape_mismatch',
    /expected dense\/kernel to have shape \[4,9000\], but got \[9000,4\]/,
  );
  const short = model(5).map((t) => (t.name === 'dense/bias' ? { ...t, values: t.values.subarray(1) } : t));
  refused(() => s.accumulate({ hospitalId: 'x', examples: 1, weights: short }), 'shape_mismatch', /expected 9000 values for dense\/bias, but got 8999/);
  refused(
    () => s.accumulate({ hospitalId: 'x', examples: 1, weights: model(5).slice(0, 6) }),
    'shape_mismatch',
    /missing tensor dense\/bias \(and 1 more\)/,
  );
  const twice = [...model(5), model(5)[0]];
  refused(() => s.accumulate({ hospitalId: 'x', examples: 1, weights: twice }), 'shape_mismatch', /appears twice/);
  refused(() => s.accumulate({ hospitalId: 'x', examples: 0, weights: model(5) }), 'bad_update', /positive number of examples, at most 2\^53, but got 0/);
  refused(() => s.finish(), 'no_updates', /no update arrived/);
  s.accumulate(updates[0]);
  refused(() => s.accumulate(updates[0]), 'duplicate_update', /Update from a: this hospital already contributed to round 3/);
  s.accumulate(updates[1]);
  const r = s.finish();
  assert.deepEqual(r.used, ['a', 'b']);
  assertClose(r.weights, referenceMean([updates[0], updates[1]]));
});

test('finish returns fresh arrays and leaves the inputs untouched', () => {
  const global = model(9);
  const before = toNumbers(global);
  const inputs = updates.map((u) => toNumbers(u.weights));
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg', groupUpdates: 2 }));
  s.begin(1, global);
  for (const u of updates) s.accumulate(u);
  const r = s.finish();
  r.weights[0].values[0] = 12345;
  assert.deepEqual(toNumbers(global), before);
  assert.deepEqual(
    updates.map((u) => toNumbers(u.weights)),
    inputs,
  );
});
