import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { ModelError } from './errors';
import { DownloadError } from './fetch/download';
import { META_FILE, saveModel } from './io';
import { writeKerasWeights } from './keras-write';
import { preprocessingFor } from './preprocess';
import { parseWeightsSource, resolveStartingWeights } from './starting-weights';
import { tinySpec } from './test-util';
import { backboneHash, hashNamedWeights, isBackboneWeight } from './weights-hash';
import { getNamedWeights } from './weights';

await tf.setBackend('cpu');

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-weights-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function weightsOf(spec: ReturnType<typeof tinySpec>, seed: number) {
  const m = buildModel(spec, { seed });
  const w = getNamedWeights(m);
  m.dispose();
  return w;
}

test('random: the seeded model, with a hash over the named tensors in manifest order', async () => {
  const spec = tinySpec({ channels: 3 });
  const tensors = tf.memory().numTensors;
  const r = await resolveStartingWeights('random', spec, { seed: 4 });
  assert.equal(tf.memory().numTensors, tensors);
  const expected = weightsOf(spec, 4);
  assert.deepEqual(r.weights, expected);
  assert.equal(r.hash, hashNamedWeights(expected));
  assert.match(r.hash, /^[0-9a-f]{64}$/);
  assert.equal(r.description, 'random (seed 4)');
  assert.notEqual((await resolveStartingWeights('random', spec, { seed: 5 })).hash, r.hash);
  // One changed bit changes the hash; the backbone hash ignores the head.
  const flipped = expected.map((w) => ({ ...w, values: w.values.slice() }));
  const head = flipped.find((w) => w.name === 'dense_1/bias')!;
  head.values[0] = Math.fround(head.values[0] + 1e-6) === head.values[0] ? head.values[0] + 1 : Math.fround(head.values[0] + 1e-6);
  assert.notEqual(hashNamedWeights(flipped), r.hash);
  assert.equal(backboneHash(flipped), backboneHash(expected));
  assert.equal(isBackboneWeight('conv1/conv/kernel'), true);
  assert.equal(isBackboneWeight('batch_normalization/gamma'), false);
});

test('a Keras notop .h5 (the layout save_weights writes) loads bit for bit; the head stays seeded random', async () => {
  await withDir(async (dir) => {
    const spec = tinySpec({ channels: 3 });
    const source = buildModel(spec, { seed: 21 });
    const file = join(dir, 'tiny_notop.h5');
    const written = await writeKerasWeights(file, source, { notop: true });
    source.dispose();
    assert.ok(written.every((w) => isBackboneWeight(w.name)) && written.length > 0);

    const r = await resolveStartingWeights(file, spec, { seed: 3 });
    assert.deepEqual(r.source, { kind: 'keras', path: file });
    const got = new Map(r.weights.map((w) => [w.name, w]));
    for (const w of written) assert.deepEqual(got.get(w.name)!.values, w.values, w.name);
    const random = weightsOf(spec, 3);
    for (const w of random.filter((x) => !isBackboneWeight(x.name))) assert.deepEqual(got.get(w.name)!.values, w.values, w.name);
    assert.match(r.description, /^keras: .*tiny_notop\.h5 \(\d+ tensors\); head random \(seed 3\)$/);
    assert.ok(r.notes.some((n) => n.startsWith('head layers batch_normalization, dense, dense_1') || n.startsWith('head layers')));

    // A full file carries the head too.
    const full = buildModel(spec, { seed: 22 });
    const fullFile = join(dir, 'tiny_full.h5');
    const all = await writeKerasWeights(fullFile, full);
    full.dispose();
    assert.deepEqual((await resolveStartingWeights(fullFile, spec)).weights, all);
  });
});

test('a Keras file that does not fit is refused, naming the layers or shapes', async () => {
  await withDir(async (dir) => {
    const spec = tinySpec({ channels: 3 });
    const small = buildModel({ ...spec, arch: 'densenet-small' }, { seed: 1 });
    await writeKerasWeights(join(dir, 'small.h5'), small, { notop: true });
    small.dispose();
    await assert.rejects(resolveStartingWeights(join(dir, 'small.h5'), spec), (e: Error) => e instanceof ModelError && /shapes differ for conv1\/conv\/kernel: file \[7,7,3,32\], model \[7,7,3,16\]/.test(e.message));

    const wide = buildModel({ ...spec, head: { units: 8, dropout: 0 } }, { seed: 1 });
    await writeKerasWeights(join(dir, 'wide.h5'), wide);
    wide.dispose();
    await assert.rejects(resolveStartingWeights(join(dir, 'wide.h5'), spec), /shapes differ for dense\/kernel: file \[32,8\], model \[32,16\]/);

    const part = buildModel(spec, { seed: 1 });
    await writeKerasWeights(join(dir, 'part.h5'), part, { notop: true });
    const tiny4 = { ...spec, arch: 'densenet-small' as const, imageSize: 32 };
    await assert.rejects(resolveStartingWeights(join(dir, 'part.h5'), tiny4), /lacks \d+ layer\(s\) of densenet-small's backbone: conv3_block3_0_bn, .* \(and \d+ more\)/);
    part.dispose();
  });
});

test('a model folder (an earlier run) loads by name; the image size may differ, the network may not', async () => {
  await withDir(async (dir) => {
    const spec = tinySpec({ channels: 3 });
    const earlier = buildModel(spec, { seed: 31 });
    const folder = join(dir, 'global');
    await saveModel(earlier, folder, { spec, normalize: 'imagenet' });
    const expected = getNamedWeights(earlier);
    earlier.dispose();

    const r = await resolveStartingWeights(folder, { ...spec, imageSize: 48 });
    assert.deepEqual(r.weights, expected);
    assert.equal(r.hash, hashNamedWeights(expected));
    assert.deepEqual(r.notes, ['trained at 32 px, used at 48 px (DenseNet weights do not depend on the input size)']);
    assert.deepEqual(r.saved, { channels: 3, imageSize: 32, normalize: 'imagenet' });

    await assert.rejects(resolveStartingWeights(folder, { ...spec, classes: ['right', 'left'] }), /classes left,right, the run right,left/);
    await assert.rejects(resolveStartingWeights(folder, { ...spec, arch: 'densenet-small' }), /arch densenet-tiny, the run densenet-small/);
    await assert.rejects(resolveStartingWeights(folder, { ...spec, channels: 1 }), /3 channel\(s\), the run 1/);
    await assert.rejects(resolveStartingWeights(folder, { ...spec, head: { units: 8, dropout: 0 } }), /head Dense\(16, relu\), the run Dense\(8, relu\)/);

    // A tfjs folder without fedxray.json: matched by name and shape, mismatches listed.
    await rm(join(folder, META_FILE));
    const plain = await resolveStartingWeights(folder, spec);
    assert.deepEqual(plain.weights, expected);
    assert.match(plain.notes[0], /no fedxray\.json/);
    await assert.rejects(resolveStartingWeights(folder, { ...spec, classes: ['a', 'b', 'c'] }), /dense_1\/kernel: expected shape \[16,3\], got \[16,2\]/);
  });
});

test('imagenet is for the Keras DenseNets with 3 channels; unknown sources are refused listing the forms', async () => {
  await assert.rejects(resolveStartingWeights('imagenet', tinySpec({ channels: 3 })), /ImageNet weights exist for densenet121, densenet169, densenet201, not for densenet-tiny/);
  const d121 = { arch: 'densenet121' as const, classes: ['a', 'b'] };
  await assert.rejects(resolveStartingWeights('imagenet', { ...d121, channels: 1 }), /expect 3 input channels, but the spec has 1/);
  await withDir(async (dir) => {
    // Not cached and unreachable: the download error that says how to get the file.
    await assert.rejects(resolveStartingWeights('imagenet', d121, { fetch: { cacheDir: dir, url: 'http://127.0.0.1:9/x.h5', env: {} } }), (e: Error) => e instanceof DownloadError && /--from-file/.test(e.message));
  });
  await assert.rejects(parseWeightsSource('/no/such/place.h5'), /one of random, imagenet, <file\.h5>, <model folder>, but "\/no\/such\/place\.h5"/);
});

test('preprocessing fits the weights: ImageNet gets 3 channels and ImageNet normalisation unless asked otherwise', () => {
  const inet = preprocessingFor({ kind: 'imagenet' });
  assert.deepEqual([inet.channels, inet.normalize], [3, 'imagenet']);
  assert.match(inet.log, /3 channels \(grayscale X-rays replicated to RGB\), ImageNet normalisation \(x\/255, minus mean \[0\.485, 0\.456, 0\.406\], divided by std \[0\.229, 0\.224, 0\.225\]\)/);
  const study = preprocessingFor({ kind: 'imagenet' }, { normalize: 'rescale' });
  assert.deepEqual([study.channels, study.normalize], [3, 'rescale']);
  assert.match(study.log, /rescale x\/255 only, as the study did/);
  assert.throws(() => preprocessingFor({ kind: 'imagenet' }, { channels: 1 }), /expect 3 input channels, but 1 was asked for/);

  const folder = { kind: 'folder' as const, path: 'runs/a/global' };
  assert.equal(preprocessingFor(folder, {}, { channels: 1, normalize: 'imagenet' }).normalize, 'imagenet');
  assert.equal(preprocessingFor(folder, {}, { channels: 1, normalize: 'imagenet' }).channels, 1);
  assert.match(preprocessingFor(folder, { normalize: 'rescale' }, { channels: 1, normalize: 'imagenet' }).log, /it was trained with imagenet/);
  assert.throws(() => preprocessingFor(folder, { channels: 3 }, { channels: 1 }), /takes 1 channel\(s\), but 3 was asked for/);
  assert.deepEqual(preprocessingFor({ kind: 'random' }, { channels: 1 }), { channels: 1, normalize: 'rescale', log: 'weights random: 1 channel, rescale x/255 only' });
});
