import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { buildModel } from '../densenet';
import { ModelSpecSchema } from '../spec';
import { Trainer } from '../trainer';
import { wasmTrainingKernelsRegistered } from '../wasm/register';
import { namedVariables } from '../weights';
import { accumulateGradients, microBatchRanges, splitEvenly } from './accumulate';

// Importing the kernels' module hooks them into initBackend, as the package index does.
await initBackend('wasm');
assert.ok(wasmTrainingKernelsRegistered());

/**
 * Largest difference relative to the tensor's largest value — with a floor at
 * 1e-3 of the largest gradient of any tensor, so that tensors whose exact
 * gradient is zero (a bias followed by BatchNorm) compare their rounding noise
 * against the scale of the others.
 */
function maxRelErr(a: Map<string, tf.Tensor>, b: Map<string, tf.Tensor>): number {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  const maxAbs = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
  const floor = 1e-3 * Math.max(...[...a.values()].map(maxAbs));
  let worst = 0;
  for (const [name, t] of a) {
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(t, b.get(name)!))).dataSync()[0]);
    worst = Math.max(worst, diff / Math.max(maxAbs(t), floor));
  }
  return worst;
}

function dispose(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

test('micro-batch ranges and even splits cover every example once', () => {
  assert.deepEqual(microBatchRanges(7, 3), [
    [0, 3],
    [3, 6],
    [6, 7],
  ]);
  assert.deepEqual(splitEvenly(7, 3), [
    [0, 3],
    [3, 5],
    [5, 7],
  ]);
  assert.deepEqual(splitEvenly(1, 2), [
    [0, 1],
    [1, 1],
  ]);
  assert.throws(() => microBatchRanges(4, 0), /micro-batch size/);
});

test('without BatchNorm the accumulated gradient equals the whole batch gradient', () => {
  // conv (stride 2, same) → relu → conv (valid) → dense: every training kernel but BatchNorm.
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.conv2d({ filters: 5, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const gradFn = (x: tf.Tensor4D, y: Int32Array) => {
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => tf.mean(tf.metrics.categoricalCrossentropy(tf.oneHot(tf.tensor1d(y, 'int32'), 3), model.apply(x) as tf.Tensor)) as tf.Scalar),
      vars,
    );
    const loss = value.dataSync()[0];
    value.dispose();
    return { grads: new Map(Object.entries(grads)), loss, correct: 0, count: x.shape[0] };
  };
  const x = tf.randomNormal([7, 9, 9, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = [0, 1, 2, 0, 1, 2, 1];
  const whole = gradFn(x, Int32Array.from(y));
  const acc = accumulateGradients(gradFn, x, y, 3);
  assert.ok(maxRelErr(whole.grads, acc.grads) < 1e-5, `gradient error ${maxRelErr(whole.grads, acc.grads)}`);
  assert.ok(Math.abs(whole.loss - acc.loss) < 1e-5 * Math.abs(whole.loss));
  dispose(whole.grads);
  dispose(acc.grads);
  x.dispose();
  model.dispose();
});

test('with BatchNorm in training mode: micro-batches use their own statistics; identical halves reproduce the whole batch', () => {
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 32, classes: ['a', 'b', 'c'], head: { units: 16, dropout: 0 } });
  const model = buildModel(spec, { seed: 5 });
  const trainer = new Trainer(model, spec);
  const half = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 6);
  const x = tf.concat([half, half]) as tf.Tensor4D;
  const y = [0, 1, 2, 0, 1, 2];
  const stat = namedVariables(model).find((v) => v.name === 'conv1/bn/moving_mean')!.variable;
  const m0 = stat.read().dataSync().slice();

  // Each half has exactly the statistics of the whole batch, so the gradients agree.
  const whole = trainer.computeGradients(x, y);
  const afterWhole = stat.read().dataSync().slice();
  stat.write(tf.tensor(m0));
  const acc = accumulateGradients((xb, yb) => trainer.computeGradients(xb, yb), x, y, 3);
  const afterAcc = stat.read().dataSync().slice();
  assert.ok(maxRelErr(whole.grads, acc.grads) < 1e-3, `gradient error ${maxRelErr(whole.grads, acc.grads)}`);

  // Moving statistics move once per micro-batch: with batch mean S and momentum μ,
  // one step gives S + (m0 − S)·μ, two micro-batches S + (m0 − S)·μ².
  const mu = (model.getLayer('conv1/bn') as unknown as { momentum: number }).momentum;
  for (let i = 0; i < m0.length; i++) {
    const s = m0[i] + (afterWhole[i] - m0[i]) / (1 - mu);
    assert.ok(Math.abs(afterAcc[i] - (s + (m0[i] - s) * mu * mu)) < 1e-4 * Math.max(1, Math.abs(s)), `channel ${i}`);
  }

  // A different split of a batch whose halves differ does change the gradient.
  const other = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 7);
  const mixed = tf.concat([half, other]) as tf.Tensor4D;
  const wholeMixed = trainer.computeGradients(mixed, y);
  const accMixed = accumulateGradients((xb, yb) => trainer.computeGradients(xb, yb), mixed, y, 3);
  assert.ok(maxRelErr(wholeMixed.grads, accMixed.grads) > 1e-2, `mixed ${maxRelErr(wholeMixed.grads, accMixed.grads)}`);

  for (const m of [whole.grads, acc.grads, wholeMixed.grads, accMixed.grads]) dispose(m);
  tf.dispose([half, x, other, mixed]);
  trainer.dispose();
  model.dispose();
});
