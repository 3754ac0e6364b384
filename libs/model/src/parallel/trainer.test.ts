import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { buildModel } from '../densenet';
import { ModelSpecSchema } from '../spec';
import { WASM_TRAINING_KERNELS, wasmTrainingKernelsRegistered } from '../wasm/register';
import { getNamedWeights, weightManifest } from '../weights';
import { ParallelTrainer } from './trainer';

const started = await initBackend('auto');

/** Left-bright images are class 0, right-bright class 1, with noise. */
function blobs(n: number, size: number, seed: number): { x: tf.Tensor4D; y: number[] } {
  const y = Array.from({ length: n }, (_, i) => i % 2);
  const x = tf.tidy(() => {
    const noise = tf.randomUniform([n, size, size, 3], 0, 0.3, 'float32', seed);
    const left = tf.concat([tf.ones([size, size / 2, 3]), tf.zeros([size, size / 2, 3])], 1);
    const masks = tf.stack(y.map((c) => (c === 0 ? left : tf.reverse(left, 1))));
    return tf.add(noise, tf.mul(masks, 0.7)) as tf.Tensor4D;
  });
  return { x, y };
}

test('auto picks wasm with the training kernels; workers train densenet-tiny on it and the loss falls', async () => {
  assert.equal(started.backend, 'wasm', JSON.stringify(started.tried));
  assert.ok(wasmTrainingKernelsRegistered());
  for (const k of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(k, 'wasm'), k);
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));

  const spec = ModelSpecSchema.parse({
    arch: 'densenet-tiny',
    imageSize: 32,
    classes: ['left', 'right'],
    head: { units: 16, dropout: 0 },
    optimizer: { name: 'adam', learningRate: 0.01 },
  });
  const model = buildModel(spec, { seed: 11 });
  const trainer = await ParallelTrainer.create(model, spec, { workers: 2, microBatch: 4 });
  try {
    assert.deepEqual(trainer.workerBackends, ['wasm', 'wasm']);
    const { x, y } = blobs(16, 32, 12);
    const losses: number[] = [];
    let tensors = 0;
    for (let i = 0; i < 8; i++) {
      losses.push((await trainer.trainBatch(x, y)).loss);
      if (i === 1) tensors = tf.memory().numTensors;
    }
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked per step');
    x.dispose();
    assert.ok(losses.every(Number.isFinite));
    assert.ok(losses[7] < 0.7 * losses[0], `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  } finally {
    await trainer.close();
    model.dispose();
  }
});

test('two workers give the same update as the same micro-batches accumulated in one thread', async () => {
  const spec = ModelSpecSchema.parse({
    arch: 'densenet-tiny',
    imageSize: 32,
    classes: ['a', 'b', 'c'],
    head: { units: 16, dropout: 0 },
    optimizer: { name: 'sgd', learningRate: 0.1 },
  });
  const { x } = blobs(6, 32, 13);
  const y = [0, 1, 2, 2, 1, 0];
  const after = async (workers: number) => {
    const model = buildModel(spec, { seed: 14 });
    const trainer = await ParallelTrainer.create(model, spec, { workers, microBatch: 3 });
    try {
      const r = await trainer.trainBatch(x, y);
      return { loss: r.loss, weights: getNamedWeights(model), manifest: weightManifest(model) };
    } finally {
      await trainer.close();
      model.dispose();
    }
  };
  const one = await after(0);
  const two = await after(2);
  x.dispose();
  assert.ok(Math.abs(one.loss - two.loss) < 1e-5 * one.loss);
  let checked = 0;
  one.weights.forEach((w, i) => {
    if (!one.manifest[i].trainable) return;
    const v = two.weights[i].values;
    let num = 0;
    let den = 1e-6;
    for (let j = 0; j < v.length; j++) {
      num = Math.max(num, Math.abs(v[j] - w.values[j]));
      den = Math.max(den, Math.abs(w.values[j]));
    }
    assert.ok(num / den < 1e-4, `${w.name}: ${num / den}`);
    checked++;
  });
  assert.ok(checked > 10);
});

test('the workers train with the logit transform too: the same loss with two workers as in one thread, and not the plain loss', async () => {
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 32, classes: ['a', 'b', 'c'], head: { units: 16, dropout: 0 }, optimizer: { name: 'sgd', learningRate: 0.1 } });
  const { x } = blobs(6, 32, 15);
  const y = [0, 1, 0, 1, 0, 1];
  const logitTransform = { scale: [1, 1, 1], shift: [Math.log(0.5), Math.log(0.5), Math.log(1e-4)] };
  const loss = async (workers: number, transform?: typeof logitTransform) => {
    const model = buildModel(spec, { seed: 16 });
    const trainer = await ParallelTrainer.create(model, spec, { workers, microBatch: 3, logitTransform: transform });
    try {
      return (await trainer.trainBatch(x, y)).loss;
    } finally {
      await trainer.close();
      model.dispose();
    }
  };
  const inThread = await loss(0, logitTransform);
  const inWorkers = await loss(2, logitTransform);
  const plain = await loss(2);
  x.dispose();
  assert.ok(Math.abs(inThread - inWorkers) < 1e-5 * inThread, `${inThread} vs ${inWorkers}`);
  assert.ok(Math.abs(plain - inWorkers) > 1e-3, `${plain} vs ${inWorkers}`);
});
