import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './densenet';
import { loadModel, saveModel } from './io';
import { Trainer } from './trainer';
import { getNamedWeights, weightManifest } from './weights';
import { ModelError } from './errors';
import { randomImages, tinySpec } from './test-util';

await tf.setBackend('cpu');

test('save → load → predict gives identical outputs, spec and metadata included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-model-'));
  try {
    const spec = tinySpec({ classes: ['covid19', 'normal', 'pneumonia'], freezeBackbone: true });
    const model = buildModel(spec, { seed: 2 });
    const trainer = new Trainer(model, spec);
    const x = randomImages(4, 32, 1);
    await trainer.trainBatch(x, [0, 1, 2, 0]); // moves BatchNorm statistics off their initial values
    const before = trainer.predict(x);
    await saveModel(model, join(dir, 'm'), { spec, round: 3 });
    const files = await readdir(join(dir, 'm'));
    assert.ok(files.includes('model.json') && files.includes('fedxray.json') && files.some((f) => f.endsWith('.bin')));
    assert.deepEqual((await readdir(dir)).sort(), ['m']); // no temporary directory left behind

    const { model: loaded, spec: spec2, meta } = await loadModel(join(dir, 'm'));
    assert.deepEqual(spec2, spec);
    assert.equal(meta.round, 3);
    assert.deepEqual(weightManifest(loaded), weightManifest(model));
    assert.deepEqual(getNamedWeights(loaded), getNamedWeights(model));
    const t2 = new Trainer(loaded, spec2);
    assert.deepEqual(t2.predict(x), before);
    // The frozen backbone is part of the saved topology.
    assert.equal(loaded.getLayer('conv1/conv').trainable, false);

    // Overwriting is atomic and leaves one directory.
    await saveModel(loaded, join(dir, 'm'), { spec: spec2, round: 4 });
    assert.equal((await loadModel(join(dir, 'm'))).meta.round, 4);
    assert.deepEqual((await readdir(dir)).sort(), ['m']);

    // Without meta the spec the model was loaded with is used.
    await saveModel(loaded, join(dir, 'again'));
    assert.deepEqual((await loadModel(join(dir, 'again'))).spec, spec);
    await rm(join(dir, 'again'), { recursive: true });

    // model.json is the plain tfjs layers format.
    const json = JSON.parse(await readFile(join(dir, 'm', 'model.json'), 'utf8'));
    assert.equal(json.format, 'layers-model');
    assert.ok(Array.isArray(json.weightsManifest[0].paths));
    trainer.dispose();
    t2.dispose();
    x.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tf.loadLayersModel itself reads a saved directory (served over HTTP, as a browser would)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-model-'));
  const server = createServer((req, res) => {
    readFile(join(dir, 'm', decodeURIComponent(new URL(req.url!, 'http://x').pathname).slice(1))).then(
      (b) => res.end(b),
      () => res.writeHead(404).end(),
    );
  });
  try {
    const spec = tinySpec();
    const model = buildModel(spec, { seed: 4 });
    await saveModel(model, join(dir, 'm'), { spec });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const plain = await tf.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
    const x = randomImages(2, 32, 1);
    const a = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const b = tf.tidy(() => (plain.predict(x) as tf.Tensor).dataSync());
    assert.deepEqual(b, a);
    x.dispose();
    plain.dispose();
    model.dispose();
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('loading a directory that is not a fedxray model says what is missing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-model-'));
  try {
    await assert.rejects(loadModel(dir), (e: Error) => e instanceof ModelError && /fedxray\.json/.test(e.message));
    await writeFile(join(dir, 'fedxray.json'), JSON.stringify({ spec: { arch: 'densenet-tiny', classes: ['a'] } }));
    await assert.rejects(loadModel(dir), /no valid spec: classes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
