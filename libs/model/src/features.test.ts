import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { HeadTrainer, extractFeatures, featureLength, featureModel } from './features';
import { applyTrainable } from './trainable';
import { Trainer } from './trainer';
import { getNamedWeights } from './weights';
import { blobImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('pooled features: micro-batched, in inference mode, without leaking tensors', () => {
  const spec = tinySpec();
  const model = buildModel(spec, { seed: 2 });
  const { x } = blobImages(7, 32, 5);
  featureModel(model);
  const tensors = tf.memory().numTensors;
  const whole = extractFeatures(model, x, 64);
  const pieces = extractFeatures(model, x, 3);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(whole.length, 7 * featureLength(model));
  assert.ok(maxAbsDiff(whole, pieces) < 1e-6);
  const ref = tf.tidy(() => featureModel(model).predict(x) as tf.Tensor);
  assert.ok(maxAbsDiff(ref.dataSync(), whole) < 1e-6);
  assert.throws(() => extractFeatures(model, tf.zeros([1, 16, 16, 1]) as tf.Tensor4D), /images of shape \[n, 32, 32, 1\], but got \[1, 16, 16, 1\]/);
  tf.dispose([ref, x]);
  model.dispose();
});

test('the head trained on features gives the loss, gradients and step of the full model with a frozen backbone', async () => {
  const spec = tinySpec({ optimizer: { name: 'adam', learningRate: 0.01 } });
  const full = buildModel(spec, { seed: 8 });
  const head = buildModel(spec, { seed: 8 });
  applyTrainable(full, { kind: 'head' });
  applyTrainable(head, { kind: 'head' });
  const fullTrainer = new Trainer(full, spec);
  const headTrainer = new HeadTrainer(head, spec);
  const { x, labels } = blobImages(10, 32, 6);
  const feats = tf.tensor2d(extractFeatures(head, x), [10, headTrainer.featureLength]);
  const tensors = tf.memory().numTensors;

  const a = fullTrainer.computeGradients(x, labels);
  const b = headTrainer.computeGradients(feats, labels);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `loss ${a.loss} vs ${b.loss}`);
  assert.equal(a.correct, b.correct);
  assert.deepEqual([...b.grads.keys()], [...a.grads.keys()]);
  for (const [name, g] of a.grads) {
    const scale = Math.max(1e-3, ...Array.from(g.dataSync(), Math.abs));
    assert.ok(maxAbsDiff(g.dataSync(), b.grads.get(name)!.dataSync()) < 1e-4 * scale, name);
  }
  tf.dispose([...a.grads.values(), ...b.grads.values()]);
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');

  for (let i = 0; i < 3; i++) {
    await fullTrainer.trainBatch(x, labels);
    await headTrainer.trainBatch(feats, labels);
  }
  const wa = getNamedWeights(full);
  const wb = getNamedWeights(head);
  wa.forEach((w, i) => assert.ok(maxAbsDiff(w.values, wb[i].values) < 1e-4, w.name));
  tf.dispose([x, feats]);
  fullTrainer.dispose();
  headTrainer.dispose();
  full.dispose();
  head.dispose();
});

test('the head trainer refuses a backbone that trains and batches of the wrong shape', () => {
  const spec = tinySpec();
  const model = buildModel(spec, { seed: 1 });
  assert.throws(() => new HeadTrainer(model, spec), (e: Error) => e instanceof ModelError && /needs a frozen backbone, but \d+ layer\(s\) before the pooling train \(first: conv1\/conv\)/.test(e.message));
  applyTrainable(model, { kind: 'head' });
  const t = new HeadTrainer(model, spec);
  assert.throws(() => t.computeGradients(tf.zeros([2, 3]), [0, 1]), new RegExp(`pooled features of shape \\[n, ${t.featureLength}\\], but got \\[2, 3\\]`));
  applyTrainable(model, { kind: 'from', layer: 'conv4_block2_1_conv' });
  assert.throws(() => t.computeGradients(tf.zeros([2, t.featureLength]), [0, 1]), /first: conv4_block2_1_conv/);
  t.dispose();
  model.dispose();
});
