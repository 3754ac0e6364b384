import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBatchNormTensor } from './batchnorm';
import { createStrategy, parseStrategyConfig } from './config';
import { assertClose, model, referenceMean } from './testing';

// three, so that Krum (f = 0) has n > 2f + 2
const updates = [
  { hospitalId: 'a', examples: 3, weights: model(31) },
  { hospitalId: 'b', examples: 5, weights: model(32, 1, 2) },
  { hospitalId: 'c', examples: 2, weights: model(33, -1, 0.5) },
];
const bnNames = ['conv1/bn/gamma', 'conv1/bn/beta', 'conv1/bn/moving_mean', 'conv1/bn/moving_variance'];

test('isBatchNormTensor knows the Keras BatchNormalization weights', () => {
  for (const n of [...bnNames, 'conv2_block1_0_bn/moving_variance:0', 'batch_normalization/gamma']) assert.ok(isBatchNormTensor(n), n);
  for (const n of ['conv1/conv/kernel', 'dense/bias', 'gamma_dense/kernel', 'bn']) assert.ok(!isBatchNormTensor(n), n);
});

for (const name of ['fedavg', 'fedadam', 'fedmedian', 'krum'] as const) {
  test(`FedBN with ${name}: BatchNorm tensors keep the global's values, the rest is aggregated`, () => {
    const s = createStrategy(parseStrategyConfig({ name, batchNorm: 'local' }));
    const global = model(30);
    assert.deepEqual(s.localTensorNames(global), bnNames);
    s.begin(1, global);
    s.accumulate(updates[0]);
    // a hospital keeping its BN tensors may leave them out altogether
    s.accumulate({ ...updates[1], weights: updates[1].weights.filter((t) => !isBatchNormTensor(t.name)) });
    s.accumulate(updates[2]);
    const r = s.finish();
    for (const n of bnNames) {
      const got = r.weights.find((t) => t.name === n)!;
      const was = global.find((t) => t.name === n)!;
      assert.deepEqual(Array.from(got.values), Array.from(was.values), n);
      assert.notEqual(got.values, was.values, 'fresh arrays');
    }
    if (name === 'fedavg') {
      assertClose(r.weights, referenceMean(updates), 1e-6, ['conv1/conv/kernel', 'dense/kernel', 'dense/bias', 'scalar']);
    }
  });
}

test('the default averages BatchNorm tensors like any other', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  assert.deepEqual(s.localTensorNames(model(30)), []);
  s.begin(1, model(30));
  updates.forEach((u) => s.accumulate(u));
  assertClose(s.finish().weights, referenceMean(updates));
});

test('a caller-given keepLocal predicate wins over the config', () => {
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg', batchNorm: 'local' }), { keepLocal: (n) => n === 'scalar' });
  const global = model(30);
  assert.deepEqual(s.localTensorNames(global), ['scalar']);
  s.begin(1, global);
  updates.forEach((u) => s.accumulate(u));
  const r = s.finish();
  assert.equal(r.weights[7].values[0], global[7].values[0]);
  assertClose(r.weights, referenceMean(updates), 1e-6, bnNames);
});
