// A hospital under the run's trainable setting and normalisation: it sends back
// only what trained, trains the head on cached features when the backbone is
// frozen, leaves frozen BatchNorm statistics alone, and normalises as the run says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, getNamedWeights, ModelSpecSchema, parseTrainable, planTrainable } from '@fedxray/model';
import { InlineTrainer } from './trainer';
import { blobs } from './test-images';


const CLASSES = ['left', 'right'];
const fitConfig = { localEpochs: 2, batchSize: 8, proximalMu: 0, keepLocal: [] as string[], weightsDtype: 'float32' as const, maxExamplesPerEpoch: 0, seed: 1, localLoss: { name: 'ce' as const } };

test('under head, fit sends back only the head (trained on cached features); under from:<layer>, only that layer on; frozen tensors stay', { timeout: 120_000 }, async () => {
  const dir = await blobs(8);
  const cacheDir = mkdtempSync(join(tmpdir(), 'fedxray-features-'));
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'cpu', augment: false, threads: 0, cacheDir });
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: CLASSES });
  await trainer.setup(spec as unknown as Record<string, unknown>, CLASSES);
  const model = buildModel(spec, { seed: 5 });
  const global = getNamedWeights(model);
  model.dispose();
  const byName = new Map(global.map((w) => [w.name, w.values]));

  const head = planTrainable(spec, parseTrainable('head'));
  const before = tf.memory().numTensors;
  const out = await trainer.fit(global, { ...fitConfig, trainable: 'head' });
  assert.equal(tf.memory().numTensors, before, 'head training on cached features leaks no tensors');
  assert.deepEqual(out.weights.map((w) => w.name).sort(), [...head.trained, ...head.statistics].sort());
  assert.ok(out.weights.some((w) => !w.values.every((v, i) => v === byName.get(w.name)![i])), 'the head trained');
  assert.ok(existsSync(join(cacheDir, 'features')) && readdirSync(join(cacheDir, 'features')).length > 0, 'features cached');
  // Calibration under head: frozen BatchNorm layers report their statistics unchanged.
  const cal = await trainer.calibrate(global, 16, 'head');
  for (const t of cal.stats.filter((s) => head.frozen.includes(s.name))) assert.deepEqual(t.values, byName.get(t.name), t.name);

  const from = planTrainable(spec, parseTrainable('from:conv3_block1_0_bn'));
  const later = await trainer.fit(global, { ...fitConfig, trainable: 'from:conv3_block1_0_bn' });
  assert.deepEqual(later.weights.map((w) => w.name).sort(), [...from.trained, ...from.statistics].sort());
  assert.ok(from.frozen.includes('conv1/conv/kernel') && !later.weights.some((w) => w.name === 'conv1/conv/kernel'));
  await trainer.close();
});

test("the run's normalisation (spec.normalize) wins over the hospital's own", { timeout: 120_000 }, async () => {
  const dir = await blobs(20);
  const make = (normalize: 'rescale' | 'imagenet') => InlineTrainer.create({ data: { dir }, backend: 'cpu', augment: false, threads: 0, normalize });
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: CLASSES });
  const model = buildModel(spec, { seed: 5 });
  const global = getNamedWeights(model);
  model.dispose();
  const lossOf = async (normalize: 'rescale' | 'imagenet', specNormalize?: 'rescale' | 'imagenet') => {
    const t = await make(normalize);
    await t.setup({ ...spec, ...(specNormalize ? { normalize: specNormalize } : {}) } as unknown as Record<string, unknown>, CLASSES);
    const s = await t.evaluate(global, 'test');
    await t.close();
    assert.ok(s.count > 0);
    return s.lossSum;
  };
  const own = await lossOf('imagenet');
  assert.equal(await lossOf('rescale', 'imagenet'), own);
  assert.notEqual(await lossOf('rescale'), own);
});
