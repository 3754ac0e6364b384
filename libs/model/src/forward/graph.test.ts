import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../densenet';
import { randomImages, tinySpec } from '../test-util';
import { graphPlan, runGraph } from './graph';
import { forwardInBatches } from './batches';
import { forwardBytesPerExample, forwardMicroBatch } from './memory';

await tf.setBackend('cpu');

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

test('runGraph computes what model.predict computes, with dropout in the head, and leaks nothing', () => {
  // Prepare
  const model = buildModel(tinySpec({ head: { units: 16, dropout: 0.4 } }), { seed: 5 });
  const x = randomImages(5, 32, 1, 3);
  const expected = model.predict(x) as tf.Tensor;
  const before = tf.memory().numTensors;
  // Execute
  const out = runGraph(model, x);
  // Assert
  assert.deepEqual(out.shape, [5, 2]);
  assert.ok(maxAbsDiff(out, expected) < 1e-6);
  out.dispose();
  assert.equal(tf.memory().numTensors, before, 'only the output was left, and it is disposed');
  assert.equal(x.isDisposed, false, 'the input stays the caller’s');
  tf.dispose([x, expected]);
  model.dispose();
});

test('runGraph frees every intermediate after its last use: its peak stays within forwardBytesPerExample, far below model.apply’s', async () => {
  const model = buildModel(tinySpec({ imageSize: 48 }), { seed: 6 });
  const n = 4;
  const x = randomImages(n, 48, 1, 4);
  // tf.profile's peakBytes: the most tensor bytes alive at any moment, temporaries inside kernels' callers included
  const start = tf.memory().numBytes;
  // (tf.profile returns the same object each time: read it before the next profile)
  const graph = await tf.profile(() => runGraph(model, x));
  (graph.result as tf.Tensor).dispose();
  const held = graph.peakBytes - start;
  const apply = await tf.profile(() => tf.tidy(() => model.apply(x, { training: true }) as tf.Tensor));
  (apply.result as tf.Tensor).dispose();
  const applyHeld = apply.peakBytes - start;
  const estimate = n * forwardBytesPerExample(model);
  assert.ok(held > 0 && held <= estimate, `held ${held} bytes beyond the weights and input, estimate ${estimate}`);
  assert.ok(applyHeld > 3 * held, `model.apply (training, as calibration ran it) held ${applyHeld} bytes, runGraph ${held}`);
  x.dispose();
  model.dispose();
});

test('graphPlan visits every layer once, inputs before their consumers, and frees each tensor once', () => {
  const model = buildModel(tinySpec(), { seed: 1 });
  const plan = graphPlan(model);
  assert.equal(plan.steps.length, model.layers.length - 1, 'every layer but the input layer');
  const made = new Set([plan.input]);
  const freed: number[] = [];
  for (const s of plan.steps) {
    for (const id of s.inputs) assert.ok(made.has(id), `${s.layer.name} reads a tensor made before it`);
    for (const id of s.outputs) made.add(id);
    freed.push(...s.free);
  }
  assert.equal(new Set(freed).size, freed.length);
  assert.ok(!freed.includes(plan.input) && !freed.includes(plan.output));
  assert.equal(freed.length, made.size - 2, 'every intermediate is freed');
  model.dispose();
});

test('forwardInBatches gives the same output in passes of any size', () => {
  const model = buildModel(tinySpec(), { seed: 2 });
  const x = randomImages(7, 32, 1, 5);
  const whole = runGraph(model, x);
  const before = tf.memory().numTensors;
  const parts = forwardInBatches(model, x, { microBatch: 3 });
  assert.equal(tf.memory().numTensors, before + 1);
  assert.ok(maxAbsDiff(parts, whole) < 1e-6);
  tf.dispose([x, whole, parts]);
  model.dispose();
});

test('forwardMicroBatch: as many images as the budget holds, at least one, at most the cap', () => {
  const model = buildModel(tinySpec(), { seed: 2 });
  const per = forwardBytesPerExample(model);
  assert.equal(forwardMicroBatch(model, { budgetBytes: 10.5 * per }), 10);
  assert.equal(forwardMicroBatch(model, { budgetBytes: per / 2 }), 1);
  assert.equal(forwardMicroBatch(model, { budgetBytes: 1e6 * per, max: 32 }), 32);
  assert.ok(forwardMicroBatch(model) >= 1);
  model.dispose();
});
