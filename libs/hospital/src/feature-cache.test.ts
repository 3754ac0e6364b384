import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { applyTrainable, backboneHash, buildModel, extractFeatures, featureLength, getNamedWeights, IMAGENET_MEAN, IMAGENET_STD, ModelSpecSchema } from '@fedxray/model';
import { decodeImage, encodePng, toModelInput, type DataItem } from '@fedxray/data';
import { FeatureCache, featureBatches, type FeaturePreprocessing } from './feature-cache';

await tf.setBackend('cpu');

const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 32, channels: 1, classes: ['a', 'b'], head: { units: 8, dropout: 0 } });
const PRE: FeaturePreprocessing = { imageSize: 32, channels: 1, normalize: 'rescale', resize: 'fill' };

/** A grey 40×40 PNG whose pattern depends on `k`. */
async function png(k: number): Promise<Buffer> {
  const data = new Float32Array(40 * 40);
  for (let i = 0; i < data.length; i++) data[i] = ((i * (k + 3)) % 97) / 97;
  return encodePng({ width: 40, height: 40, channels: 1, data });
}

async function writeItem(dir: string, k: number, label: number, name = `img${k}.png`): Promise<DataItem> {
  const bytes = await png(k);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, label, className: label ? 'b' : 'a', hash: createHash('sha256').update(bytes).digest('hex') };
}

async function collect(cache: FeatureCache, model: tf.LayersModel, items: DataItem[], pre: FeaturePreprocessing, epoch: number, balance: 'none' | 'max' = 'none') {
  const rows = new Map<string, Float32Array[]>();
  let hits = 0;
  let misses = 0;
  for await (const b of featureBatches(cache, model, items, pre, { batchSize: 3, epoch, shuffle: false, balance, maxRepeat: 0 })) {
    hits += b.hits;
    misses += b.misses;
    for (let i = 0; i < b.n; i++) {
      const label = String(b.labels[i]);
      rows.set(label, [...(rows.get(label) ?? []), b.x.slice(i * cache.featureLength, (i + 1) * cache.featureLength)]);
    }
  }
  return { rows, hits, misses };
}

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-features-'));
  const model = buildModel(spec, { seed: 3 });
  applyTrainable(model, { kind: 'head' });
  const hash = backboneHash(getNamedWeights(model));
  const items = [await writeItem(dir, 1, 0), await writeItem(dir, 2, 0), await writeItem(dir, 3, 0), await writeItem(dir, 4, 1)];
  const open = (over: Partial<Parameters<typeof FeatureCache.open>[0]> = {}) =>
    FeatureCache.open({ dir: join(dir, 'cache'), backboneHash: hash, preprocessing: PRE, featureLength: featureLength(model), variants: 2, ...over });
  return { dir, model, hash, items, open };
}

test('first epoch computes and stores the features, the next reads them back: the same values as the backbone gives', async () => {
  const { dir, model, items, open } = await setup();
  try {
    const cache = await open();
    const tensors = tf.memory().numTensors;
    const first = await collect(cache, model, items, PRE, 0);
    assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
    assert.deepEqual([first.hits, first.misses], [0, 4]);
    const second = await collect(cache, model, items, PRE, 1);
    assert.deepEqual([second.hits, second.misses], [4, 0]);
    assert.deepEqual(second.rows, first.rows);

    const pixels = await decodeImage(items[3].path, { imageSize: 32, channels: 1 });
    const x = tf.tensor4d(pixels, [1, 32, 32, 1]);
    assert.deepEqual(first.rows.get('1')![0], extractFeatures(model, x));
    x.dispose();
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('augmented copies use K stored variants per image, cycled across epochs', async () => {
  const { dir, model, items, open } = await setup();
  try {
    const cache = await open();
    // Balancing to 3 per class gives class 1's only image two augmented copies per epoch: variants a0, a1 at epoch 0.
    const e0 = await collect(cache, model, items, PRE, 0, 'max');
    assert.equal(e0.misses, 6);
    assert.equal(e0.rows.get('1')!.length, 3);
    assert.notDeepEqual(e0.rows.get('1')![1], e0.rows.get('1')![0], 'an augmented variant equals the original');
    assert.notDeepEqual(e0.rows.get('1')![1], e0.rows.get('1')![2], 'two variants are the same draw');
    // Epoch 1 starts at a1, then a0: both stored; so is epoch 2 (= epoch 0 mod 2).
    const e1 = await collect(cache, model, items, PRE, 1, 'max');
    assert.deepEqual([e1.hits, e1.misses], [6, 0]);
    assert.deepEqual(e1.rows.get('1')![1], e0.rows.get('1')![2]);
    const e2 = await collect(cache, model, items, PRE, 2, 'max');
    assert.deepEqual([e2.hits, e2.misses], [6, 0]);
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a changed backbone, image or preprocessing misses; a damaged entry misses; prune keeps only the current key', async () => {
  const { dir, model, hash, items, open } = await setup();
  try {
    const cache = await open();
    await collect(cache, model, items, PRE, 0);

    // Backbone weights changed: another key, every image misses.
    const other = await open({ backboneHash: 'f'.repeat(64) });
    assert.notEqual(other.key, cache.key);
    assert.equal((await collect(other, model, items, PRE, 0)).misses, 4);

    // Preprocessing changed (ImageNet normalisation): another key again.
    const inet = { ...PRE, normalize: 'imagenet' as const };
    const byPre = await open({ preprocessing: inet });
    assert.notEqual(byPre.key, cache.key);
    assert.equal((await collect(byPre, model, items, inet, 0)).misses, 4);

    // One image's bytes changed: only that image misses.
    const again = await open();
    assert.equal(again.key, cache.key);
    const changed = [...items.slice(0, 3), await writeItem(dir, 9, 1, 'img4.png')];
    const r = await collect(again, model, changed, PRE, 0);
    assert.deepEqual([r.hits, r.misses], [3, 1]);

    await writeFile(join(dir, 'cache', 'features', cache.key, items[0].hash.slice(0, 2), `${items[0].hash}.o.f32`), 'short');
    assert.equal(await again.get(items[0].hash, 'o'), null);

    assert.equal((await again.prune()).length, 2);
    assert.deepEqual(await readdir(join(dir, 'cache', 'features')), [cache.key]);
    await assert.rejects(FeatureCache.open({ dir, backboneHash: 'nothex', preprocessing: PRE, featureLength: 4 }), /SHA-256 hex backbone hash/);
    assert.equal(hash.length, 64);
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test("the data pipeline's ImageNet normalisation is keras.applications.densenet.preprocess_input (mode 'torch')", () => {
  const grey = { width: 1, height: 1, channels: 1 as const, data: new Float32Array([200 / 255]) };
  const out = toModelInput(grey, 3, 'imagenet');
  [0, 1, 2].forEach((c) => assert.ok(Math.abs(out[c] - (200 / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) < 1e-6));
});
