import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { parseSchedule, formatSchedule, scheduleRounds, trainableForRound } from './schedule';
import { applyTrainable, parseTrainable, planTrainable, updatedWeights } from './trainable';
import { Trainer } from './trainer';
import { getNamedWeights } from './weights';
import { blobImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

const HEAD_TRAINED = ['dense/kernel', 'dense/bias', 'batch_normalization/gamma', 'batch_normalization/beta', 'dense_1/kernel', 'dense_1/bias'];

test('trainable settings and schedules parse, and bad ones are refused listing the forms', () => {
  assert.deepEqual(parseTrainable('all'), { kind: 'all' });
  assert.deepEqual(parseTrainable('head'), { kind: 'head' });
  assert.deepEqual(parseTrainable('from:conv5_block1_0_bn'), { kind: 'from', layer: 'conv5_block1_0_bn' });
  assert.throws(() => parseTrainable('backbone'), /one of all, head, from:<keras layer name>, but got "backbone"/);
  assert.throws(() => parseTrainable('from:'), ModelError);

  const s = parseSchedule('head:3,from:conv5_block1_0_bn:2,all:7');
  assert.deepEqual(s, [
    { trainable: { kind: 'head' }, rounds: 3 },
    { trainable: { kind: 'from', layer: 'conv5_block1_0_bn' }, rounds: 2 },
    { trainable: { kind: 'all' }, rounds: 7 },
  ]);
  assert.equal(formatSchedule(s), 'head:3,from:conv5_block1_0_bn:2,all:7');
  assert.equal(scheduleRounds(s), 12);
  const kinds = [1, 3, 4, 5, 6, 12, 20].map((r) => trainableForRound(s, r).kind);
  assert.deepEqual(kinds, ['head', 'head', 'from', 'from', 'all', 'all', 'all']);
  assert.throws(() => trainableForRound(s, 0), /round number ≥ 1/);
  assert.throws(() => parseSchedule('head'), /<all\|head\|from:layer>:<rounds ≥ 1>.*"head"/);
  assert.throws(() => parseSchedule('head:0'), /"head:0"/);
  assert.throws(() => parseSchedule('head:3,,all:2'), /like head:3,all:7/);
});

test('plans name the tensors that train, the moving statistics that move, and whether the backbone is frozen', () => {
  const spec = tinySpec();
  const head = planTrainable(spec, { kind: 'head' });
  assert.deepEqual(head.trained, HEAD_TRAINED);
  assert.deepEqual(head.statistics, ['batch_normalization/moving_mean', 'batch_normalization/moving_variance']);
  assert.ok(head.frozen.includes('conv1/conv/kernel') && head.frozen.includes('bn/moving_mean'));
  assert.equal(head.backboneFrozen, true);

  const all = planTrainable(spec, { kind: 'all' });
  assert.equal(all.frozen.length, 0);
  assert.equal(all.backboneFrozen, false);
  assert.equal(all.trained.length + all.statistics.length, head.trained.length + head.statistics.length + head.frozen.length);

  const from = planTrainable(spec, { kind: 'from', layer: 'conv4_block1_0_bn' });
  assert.ok(from.trained.includes('conv4_block1_0_bn/gamma') && from.trained.includes('bn/beta') && from.trained.includes('dense_1/bias'));
  assert.ok(from.frozen.includes('pool3_conv/kernel') && from.frozen.includes('conv3_block2_2_conv/kernel'));
  assert.ok(from.statistics.includes('conv4_block1_0_bn/moving_mean') && !from.statistics.includes('pool3_bn/moving_mean'));
  assert.equal(from.backboneFrozen, false);
  // `from:` the backbone's last ReLU (no weights) trains the head alone.
  assert.equal(planTrainable(spec, { kind: 'from', layer: 'relu' }).backboneFrozen, true);
});

test('an unknown from: layer is refused with the closest layer names', () => {
  assert.throws(
    () => planTrainable(tinySpec(), { kind: 'from', layer: 'conv4_block1_0bn' }),
    (e: Error) => e instanceof ModelError && /no layer "conv4_block1_0bn"; did you mean from:conv4_block1_0_bn/.test(e.message),
  );
  assert.throws(() => planTrainable(tinySpec(), { kind: 'from', layer: 'zzz' }), (e: Error) => /no layer "zzz"$/.test(e.message));
});

test('training from: a layer changes only the planned tensors; frozen BatchNorm statistics stay bit for bit', async () => {
  const spec = tinySpec({ optimizer: { name: 'adam', learningRate: 0.01 } });
  const model = buildModel(spec, { seed: 5 });
  const plan = applyTrainable(model, { kind: 'from', layer: 'conv4_block1_0_bn' });
  const trainer = new Trainer(model, spec);
  const { x, labels } = blobImages(8, 32, 3);
  const before = new Map(getNamedWeights(model).map((w) => [w.name, w.values]));
  const tensors = tf.memory().numTensors;
  const { grads } = trainer.computeGradients(x, labels);
  assert.deepEqual([...grads.keys()], plan.trained);
  for (const g of grads.values()) g.dispose();
  assert.equal(tf.memory().numTensors, tensors);
  await trainer.trainBatch(x, labels);
  const after = new Map(getNamedWeights(model).map((w) => [w.name, w.values]));
  for (const name of plan.frozen) assert.deepEqual(after.get(name), before.get(name), `${name} changed`);
  for (const name of [...plan.trained, ...plan.statistics]) assert.notDeepEqual(after.get(name), before.get(name), `${name} did not change`);
  assert.deepEqual(updatedWeights(model, plan).map((w) => w.name), plan.trained);
  assert.deepEqual(
    updatedWeights(model, plan, { statistics: true }).map((w) => w.name).sort(),
    [...plan.trained, ...plan.statistics].sort(),
  );

  // Switching to head only: a frozen BatchNorm layer ignores training: true.
  applyTrainable(model, { kind: 'head' });
  // The head's own BatchNorm still trains, so compare the pooled features, not the outputs.
  const pool = tf.model({ inputs: model.inputs, outputs: model.getLayer('global_average_pooling2d').output as tf.SymbolicTensor });
  const f1 = tf.tidy(() => pool.apply(x, { training: true }) as tf.Tensor);
  const f2 = tf.tidy(() => pool.apply(x, { training: false }) as tf.Tensor);
  assert.deepEqual(f1.dataSync(), f2.dataSync());
  tf.dispose([f1, f2, x]);
  trainer.dispose();
  model.dispose();
});
