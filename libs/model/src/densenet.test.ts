import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel, setBackboneTrainable, isBackboneFrozen } from './densenet';
import { modelSummary } from './summary';
import { ModelSpecSchema, ARCHS } from './spec';
import { getNamedWeights, weightManifest } from './weights';
import { ModelError } from './errors';
import { tinySpec } from './test-util';

await tf.setBackend('cpu');

test('densenet121 with the study head matches Keras counts exactly', () => {
  const s = modelSummary({ arch: 'densenet121', classes: ['covid19', 'normal', 'pneumonia', 'tuberculosis'] });
  assert.equal(s.backboneParams, 7_037_504);
  assert.equal(s.params, 7_566_404);
  assert.equal(s.weightTensors, 612);
  assert.equal(s.bytes, 7_566_404 * 4);
  // Trainable: everything except the 121 BatchNorm layers' moving mean/variance (backbone 120 + head 1).
  assert.ok(s.trainableParams < s.params && s.trainableParams > 6_900_000);
});

test('densenet169 and densenet201 backbones match the Keras counts', () => {
  // keras.applications DenseNet169/201(include_top=False).count_params()
  const c169 = modelSummary({ arch: 'densenet169', classes: ['a', 'b'] });
  const c201 = modelSummary({ arch: 'densenet201', classes: ['a', 'b'] });
  assert.equal(c169.backboneParams, 12_642_880);
  assert.equal(c201.backboneParams, 18_321_984);
});

test('layer names are the Keras ones', () => {
  const m = buildModel({ arch: 'densenet121', imageSize: 64, classes: ['a', 'b'] }, { seed: 1 });
  const names = new Set(m.layers.map((l) => l.name));
  for (const n of ['zero_padding2d', 'conv1/conv', 'conv1/bn', 'conv1/relu', 'zero_padding2d_1', 'pool1', 'conv2_block1_0_bn', 'conv2_block1_1_conv', 'conv2_block1_2_conv', 'conv2_block6_concat', 'pool2_bn', 'pool2_conv', 'pool2_pool', 'conv4_block24_concat', 'conv5_block16_2_conv', 'bn', 'relu', 'global_average_pooling2d', 'dense', 'batch_normalization', 'dropout', 'dense_1']) {
    assert.ok(names.has(n), `missing layer ${n}`);
  }
  assert.ok(!names.has('conv5_block17_0_bn'));
  const manifest = weightManifest(m);
  assert.deepEqual(manifest.slice(0, 5).map((w) => w.name), ['conv1/conv/kernel', 'conv1/bn/gamma', 'conv1/bn/beta', 'conv1/bn/moving_mean', 'conv1/bn/moving_variance']);
  assert.deepEqual(manifest[0].shape, [7, 7, 3, 64]);
  assert.equal(manifest.find((w) => w.name === 'conv2_block1_0_bn/moving_variance')?.batchNormStat, true);
  assert.equal(manifest.at(-1)?.name, 'dense_1/bias');
  assert.equal((m.getLayer('conv1/bn').getConfig() as { epsilon: number }).epsilon, 1.001e-5);
  m.dispose();
});

test('every architecture builds at a configurable input size and channel count', () => {
  for (const arch of ARCHS) {
    const m = buildModel({ arch, imageSize: 32, channels: 1, classes: ['a', 'b', 'c'], head: { units: 8 } }, { seed: 1 });
    assert.deepEqual(m.inputs[0].shape, [null, 32, 32, 1]);
    assert.deepEqual(m.outputs[0].shape, [null, 3]);
    m.dispose();
  }
  const rgb = buildModel(tinySpec({ imageSize: 64, channels: 3 }));
  assert.deepEqual(rgb.inputs[0].shape, [null, 64, 64, 3]);
  rgb.dispose();
});

test('an input too small for the architecture is refused', () => {
  assert.throws(() => buildModel({ arch: 'densenet121', imageSize: 16, classes: ['a', 'b'] }), ModelError);
});

test('the same seed gives the same weights, another seed different ones', () => {
  const a = getNamedWeights(buildModel(tinySpec(), { seed: 5 }));
  const b = getNamedWeights(buildModel(tinySpec(), { seed: 5 }));
  const c = getNamedWeights(buildModel(tinySpec(), { seed: 6 }));
  assert.deepEqual(a[0].values, b[0].values);
  assert.deepEqual(a.at(-2)!.values, b.at(-2)!.values);
  assert.notDeepEqual(a[0].values, c[0].values);
  // Layers draw from different streams, not one repeated pattern.
  const k1 = a.find((w) => w.name === 'conv2_block1_1_conv/kernel')!.values;
  const k2 = a.find((w) => w.name === 'conv2_block2_1_conv/kernel')!.values;
  assert.notEqual(k1[0], k2[0]);
});

test('spec defaults are the study settings with softmax output', () => {
  const s = ModelSpecSchema.parse({ arch: 'densenet121', classes: ['a', 'b'] });
  assert.deepEqual(s.head, { units: 512, activation: 'relu', dropout: 0.3 });
  assert.deepEqual(s.optimizer, { name: 'adam', learningRate: 0.001 });
  assert.equal(s.output, 'softmax');
  assert.equal(s.imageSize, 224);
  assert.equal(s.channels, 3);
  assert.equal(s.freezeBackbone, false);
  assert.equal(ModelSpecSchema.safeParse({ arch: 'densenet121', classes: ['a'] }).success, false);
  assert.equal(ModelSpecSchema.safeParse({ arch: 'densenet121', classes: ['a', 'a'] }).success, false);
  assert.equal(ModelSpecSchema.safeParse({ arch: 'resnet50', classes: ['a', 'b'] }).success, false);
});

test('freezing the backbone leaves only the head trainable', () => {
  const m = buildModel(tinySpec({ freezeBackbone: true }), { seed: 1 });
  assert.equal(isBackboneFrozen(m), true);
  const trainable = weightManifest(m).filter((w) => w.trainable).map((w) => w.name);
  assert.deepEqual(trainable, ['dense/kernel', 'dense/bias', 'batch_normalization/gamma', 'batch_normalization/beta', 'dense_1/kernel', 'dense_1/bias']);
  setBackboneTrainable(m, true);
  assert.equal(isBackboneFrozen(m), false);
  assert.ok(weightManifest(m).filter((w) => w.trainable).length > 6);
  m.dispose();
});
