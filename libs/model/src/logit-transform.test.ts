// The training loss's logit transform (TrainerOptions.logitTransform): the loss
// against hand-computed values, the logits it starts from, and prediction untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { Trainer, transformedLogitLosses } from './trainer';
import { ModelError } from './errors';
import { blobImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

test('transformedLogitLosses: −log softmax(scale·z + shift)_y, as computed by hand', () => {
  const z = tf.tensor2d([
    [1, 2, 0],
    [1, 2, 0],
  ]);
  const oneHot = tf.tensor2d([
    [1, 0, 0],
    [0, 1, 0],
  ]);
  // Row 1, logit adjustment with prior (0.5, 0.3, 0.2), τ = 1, label 0:
  // z' = (1 + ln 0.5, 2 + ln 0.3, ln 0.2); e^z' = (0.5e, 0.3e², 0.2) = (1.359141, 2.216717, 0.2);
  // loss = ln(3.775858) − ln(1.359141) = 1.021775.
  const adjusted = transformedLogitLosses(z, oneHot, { scale: [1, 1, 1], shift: [Math.log(0.5), Math.log(0.3), Math.log(0.2)] }).arraySync();
  assert.ok(Math.abs(adjusted[0] - 1.021775) < 1e-5, `${adjusted[0]}`);
  // Row 2, restricted softmax: class 1 absent, its logit × 0.5, label 1: z' = (1, 1, 0);
  // loss = ln(2e + 1) − 1 = 0.861995.
  const restricted = transformedLogitLosses(z, oneHot, { scale: [1, 0.5, 1], shift: [0, 0, 0] }).arraySync();
  assert.ok(Math.abs(restricted[1] - 0.861995) < 1e-5, `${restricted[1]}`);
  // The identity is plain cross-entropy: ln(1 + e + e²) − 1 for label 0.
  const plain = transformedLogitLosses(z, oneHot, { scale: [1, 1, 1], shift: [0, 0, 0] }).arraySync();
  assert.ok(Math.abs(plain[0] - (Math.log(1 + Math.E + Math.E ** 2) - 1)) < 1e-5, `${plain[0]}`);
  tf.dispose([z, oneHot]);
});

test('Trainer.logits are the output layer before its softmax', () => {
  const spec = tinySpec({ imageSize: 16 });
  const model = buildModel(spec, { seed: 5 });
  const trainer = new Trainer(model, spec);
  const { x } = blobImages(6, 16, 3);
  const [fromLogits, probs] = tf.tidy(() => [tf.softmax(trainer.logits(x, false)).arraySync(), trainer.forward(x, false).arraySync()]) as number[][][];
  fromLogits.forEach((row, i) => row.forEach((p, c) => assert.ok(Math.abs(p - probs[i][c]) < 1e-5, `${p} vs ${probs[i][c]}`)));
  trainer.dispose();
  x.dispose();
  model.dispose();
});

test('with a logit transform the batch loss is the transformed one, gradients flow, and prediction uses the plain model', async () => {
  const spec = tinySpec({ imageSize: 16 });
  const shift = [0, Math.log(1e-4)];
  const plainModel = buildModel(spec, { seed: 6 });
  const adjustedModel = buildModel(spec, { seed: 6 });
  const plain = new Trainer(plainModel, spec);
  const adjusted = new Trainer(adjustedModel, spec, { logitTransform: { scale: [1, 1], shift } });
  const { x, labels } = blobImages(8, 16, 4);
  const before = tf.memory().numTensors;
  // Same weights: predictions (inference mode) agree, whatever the training loss.
  assert.deepEqual(adjusted.predict(x), plain.predict(x));
  // The loss it reports is the transformed loss of the same logits (training mode, same batch statistics).
  const z = tf.tidy(() => adjusted.logits(x, true).arraySync());
  const want = z.map((row, i) => {
    const t = row.map((v, c) => v + shift[c]);
    const m = Math.max(...t);
    return m + Math.log(t.reduce((s, v) => s + Math.exp(v - m), 0)) - t[labels[i]];
  });
  const r = adjusted.computeGradients(x, labels);
  const mean = want.reduce((a, b) => a + b, 0) / want.length;
  assert.ok(Math.abs(r.loss - mean) < 1e-4, `${r.loss} vs ${mean}`);
  assert.ok([...r.grads.values()].every((g) => g.dataSync().every(Number.isFinite)));
  for (const g of r.grads.values()) g.dispose();
  // Class 1's shift is −9.2: training can no longer push its logit down, so its loss is
  // near 0 on label-0 images, and the plain loss (what evaluation sees) differs.
  const p = plain.computeGradients(x, labels);
  for (const g of p.grads.values()) g.dispose();
  assert.notEqual(r.loss, p.loss);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  await adjusted.trainBatch(x, labels);
  assert.notDeepEqual(adjusted.predict(x), plain.predict(x), 'the transform trains the weights');
  plain.dispose();
  adjusted.dispose();
  x.dispose();
});

test('a logit transform is refused for sigmoid outputs and when it does not give one finite number per class', () => {
  const spec = tinySpec({ imageSize: 16 });
  const model = buildModel(spec, { seed: 1 });
  assert.throws(() => new Trainer(model, spec, { logitTransform: { scale: [1], shift: [0, 0] } }), (e: Error) => e instanceof ModelError && /logitTransform.scale to hold 2 finite numbers/.test(e.message));
  assert.throws(() => new Trainer(model, spec, { logitTransform: { scale: [1, 1], shift: [0, -Infinity] } }), /logitTransform.shift/);
  const sigmoid = tinySpec({ imageSize: 16, output: 'sigmoid' });
  const sm = buildModel(sigmoid, { seed: 1 });
  assert.throws(() => new Trainer(sm, sigmoid, { logitTransform: { scale: [1, 1], shift: [0, 0] } }), /needs softmax outputs, but the model's output is sigmoid/);
  model.dispose();
  sm.dispose();
});
