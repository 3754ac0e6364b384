import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel, setBackboneTrainable } from './densenet';
import { Trainer, evaluateBatch, predictProbs } from './trainer';
import { getNamedWeights } from './weights';
import { ModelSpecSchema } from './spec';
import { ModelError } from './errors';
import { blobImages, randomImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

function get(m: tf.LayersModel, name: string): Float32Array {
  return getNamedWeights(m).find((w) => w.name === name)!.values;
}

function dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

test('training lowers the loss and updates BatchNorm moving statistics', async () => {
  const spec = tinySpec({ imageSize: 24, optimizer: { name: 'adam', learningRate: 0.01 } });
  const model = buildModel(spec, { seed: 3 });
  const trainer = new Trainer(model, spec);
  const { x, labels } = blobImages(16, 24, 11);
  const mean0 = get(model, 'conv1/bn/moving_mean').slice();
  const var0 = get(model, 'pool2_bn/moving_variance').slice();
  const head0 = get(model, 'batch_normalization/moving_mean').slice();
  const first = await trainer.trainBatch(x, labels);
  let last = first;
  for (let i = 0; i < 5; i++) last = await trainer.trainBatch(x, labels);
  assert.ok(last.loss < first.loss * 0.5, `loss ${first.loss} → ${last.loss}`);
  assert.equal(last.count, 16);
  assert.ok(last.correct >= 14, `training-mode accuracy ${last.correct}/16`);
  assert.notDeepEqual(get(model, 'conv1/bn/moving_mean'), mean0);
  assert.notDeepEqual(get(model, 'pool2_bn/moving_variance'), var0);
  assert.notDeepEqual(get(model, 'batch_normalization/moving_mean'), head0);
  trainer.dispose();
  x.dispose();
  model.dispose();
});

test('a frozen backbone keeps its weights and statistics; the head trains; unfreezing trains both', async () => {
  const spec = tinySpec({ freezeBackbone: true });
  const model = buildModel(spec, { seed: 4 });
  const trainer = new Trainer(model, spec);
  const x = randomImages(8, 32, 1);
  const y = [0, 1, 0, 1, 0, 1, 0, 1];
  const before = getNamedWeights(model);
  await trainer.trainBatch(x, y);
  const after = getNamedWeights(model);
  for (let i = 0; i < before.length; i++) {
    const head = /^(dense|dense_1|batch_normalization)\//.test(before[i].name);
    const changed = dist(before[i].values, after[i].values) > 0;
    if (!head) assert.equal(changed, false, `${before[i].name} changed while frozen`);
  }
  assert.ok(dist(before.find((w) => w.name === 'dense/kernel')!.values, after.find((w) => w.name === 'dense/kernel')!.values) > 0);
  setBackboneTrainable(model, true);
  await trainer.trainBatch(x, y);
  assert.ok(dist(get(model, 'conv1/conv/kernel'), after[0].values) > 0);
  assert.ok(dist(get(model, 'conv1/bn/moving_mean'), after[3].values) > 0);
  trainer.dispose();
  x.dispose();
  model.dispose();
});

test('FedProx keeps weights nearer the reference', async () => {
  // No dropout: both runs must see the same masks, or the comparison measures noise.
  const spec = tinySpec({ optimizer: { name: 'sgd', learningRate: 0.5 }, head: { units: 16, dropout: 0 } });
  const x = randomImages(8, 32, 1, 5);
  const y = [0, 1, 1, 0, 0, 1, 1, 0];
  const drift = async (mu: number) => {
    const model = buildModel(spec, { seed: 8 });
    const ref = getNamedWeights(model);
    const trainer = new Trainer(model, spec, { proximalMu: mu });
    trainer.setReference(ref);
    for (let i = 0; i < 3; i++) await trainer.trainBatch(x, y);
    const d = dist(get(model, 'dense/kernel'), ref.find((w) => w.name === 'dense/kernel')!.values);
    trainer.dispose();
    model.dispose();
    return d;
  };
  const free = await drift(0);
  const held = await drift(1);
  assert.ok(held < free * 0.9, `drift with μ=1 ${held} vs μ=0 ${free}`);
  x.dispose();
});

test('sigmoid output with binary cross-entropy trains, and every optimizer steps', async () => {
  for (const name of ['adam', 'sgd', 'adagrad'] as const) {
    const spec = tinySpec({ output: 'sigmoid', classes: ['a', 'b', 'c'], optimizer: { name, learningRate: 0.01 }, head: { units: 8, activation: 'tanh', dropout: 0.4 } });
    const model = buildModel(spec, { seed: 2 });
    const trainer = new Trainer(model, spec);
    const x = randomImages(6, 32, 1);
    const before = get(model, 'dense_1/kernel').slice();
    const r = await trainer.trainBatch(x, [0, 1, 2, 0, 1, 2]);
    assert.ok(Number.isFinite(r.loss) && r.loss > 0);
    assert.ok(dist(before, get(model, 'dense_1/kernel')) > 0, name);
    const p = trainer.predict(x);
    assert.equal(p.length, 18);
    assert.ok(p.every((v) => v > 0 && v < 1));
    trainer.dispose();
    x.dispose();
    model.dispose();
  }
});

test('fit / evaluate / predict cycles leave tf.memory().numTensors unchanged', async () => {
  const spec = tinySpec();
  const model = buildModel(spec, { seed: 1 });
  const trainer = new Trainer(model, spec, { proximalMu: 0.01 });
  trainer.setReference(getNamedWeights(model));
  const x = randomImages(4, 32, 1);
  const y = tf.tensor1d([0, 1, 0, 1], 'int32');
  const cycle = async () => {
    await trainer.trainBatch(x, y);
    evaluateBatch(model, spec, x, [0, 1, 1, 0]);
    trainer.predict(x);
    predictProbs(model, x);
  };
  await cycle(); // optimizer slots are created on the first step
  const n = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await cycle();
  assert.equal(tf.memory().numTensors, n);
  trainer.dispose();
  tf.dispose([x, y]);
  model.dispose();
});

test('a new Trainer per round, disposed after, leaks nothing', async () => {
  const spec = tinySpec();
  const model = buildModel(spec, { seed: 1 });
  const x = randomImages(4, 32, 1);
  const round = async () => {
    const t = new Trainer(model, spec, { proximalMu: 0.1 });
    t.setReference(getNamedWeights(model));
    await t.trainBatch(x, [0, 1, 0, 1]);
    t.dispose();
  };
  await round();
  const n = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await round();
  assert.equal(tf.memory().numTensors, n);
  x.dispose();
  model.dispose();
});

test('bad labels and shapes are refused with what was expected', async () => {
  const spec = tinySpec();
  const model = buildModel(spec, { seed: 1 });
  const trainer = new Trainer(model, spec);
  const x = randomImages(2, 32, 1);
  const n = tf.memory().numTensors;
  await assert.rejects(trainer.trainBatch(x, [0, 2]), /class indices in \[0, 1\], but got 2/);
  await assert.rejects(trainer.trainBatch(x, [0]), /Expected 2 labels/);
  const wrong = randomImages(2, 16, 1);
  await assert.rejects(trainer.trainBatch(wrong, [0, 1]), (e: Error) => e instanceof ModelError && /\[n, 32, 32, 1\]/.test(e.message));
  assert.equal(tf.memory().numTensors, n + 1);
  trainer.dispose();
  tf.dispose([x, wrong]);
  model.dispose();
});

test('one densenet121 training step at 32×32 on cpu', async () => {
  const spec = ModelSpecSchema.parse({ arch: 'densenet121', imageSize: 32, classes: ['a', 'b', 'c', 'd'] });
  const model = buildModel(spec, { seed: 1 });
  const trainer = new Trainer(model, spec);
  const x = randomImages(2, 32, 3);
  const before = get(model, 'conv5_block16_2_conv/kernel').slice();
  const r = await trainer.trainBatch(x, [1, 3]);
  assert.ok(Number.isFinite(r.loss));
  assert.ok(dist(before, get(model, 'conv5_block16_2_conv/kernel')) > 0);
  trainer.dispose();
  x.dispose();
  model.dispose();
});
