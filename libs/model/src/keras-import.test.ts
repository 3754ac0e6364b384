import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import { buildModel } from './densenet';
import { kerasLayersOf, writeKerasWeightsFile } from './keras-write';
import { importKerasWeights } from './keras-import';
import { getNamedWeights } from './weights';
import { ModelError } from './errors';
import { tinySpec } from './test-util';

await tf.setBackend('cpu');

test('a Keras-layout HDF5 file of densenet-tiny loads by name and the report lists what did not match', async () => {
  await h5wasm.ready;
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-h5-'));
  try {
    // A "notop" file: the backbone of a source model (RGB), plus one layer the model lacks.
    const source = buildModel(tinySpec({ channels: 3 }), { seed: 11 });
    const srcWeights = getNamedWeights(source);
    const layers = kerasLayersOf(source, 'backbone').filter((l) => l.weights.length > 0);
    layers.push({ layer: 'predictions', weights: [{ name: 'bias', shape: [1000], values: new Float32Array(1000) }] });
    const file = join(dir, 'densenet_tiny_notop.h5');
    await writeKerasWeightsFile(file, layers);

    // Import into a one-channel model: the stem kernel is summed over RGB.
    const target = buildModel(tinySpec({ channels: 1 }), { seed: 12 });
    const headBefore = getNamedWeights(target).find((w) => w.name === 'dense/kernel')!.values.slice();
    const report = await importKerasWeights(target, file);
    assert.deepEqual(report.unmatchedFileLayers, ['predictions']);
    assert.deepEqual(report.missingModelLayers.sort(), ['batch_normalization', 'dense', 'dense_1']);
    assert.deepEqual(report.shapeMismatches, []);
    assert.deepEqual(report.adapted, ['conv1/conv/kernel: summed over RGB for one-channel input']);
    assert.equal(report.matchedLayers.length, layers.length - 1);

    const got = new Map(getNamedWeights(target).map((w) => [w.name, w]));
    assert.deepEqual(got.get('conv2_block1_1_conv/kernel')!.values, srcWeights.find((w) => w.name === 'conv2_block1_1_conv/kernel')!.values);
    assert.deepEqual(got.get('pool3_bn/moving_variance')!.values, srcWeights.find((w) => w.name === 'pool3_bn/moving_variance')!.values);
    const rgb = srcWeights[0].values;
    const grey = got.get('conv1/conv/kernel')!.values;
    assert.ok(Math.abs(grey[0] - (rgb[0] + rgb[16] + rgb[32])) < 1e-6); // [0,0,c,0] for c = 0..2, 16 filters
    assert.deepEqual(got.get('dense/kernel')!.values, headBefore);
    source.dispose();
    target.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file that is not Keras HDF5 is refused clearly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-h5-'));
  try {
    const m = buildModel(tinySpec(), { seed: 1 });
    await assert.rejects(importKerasWeights(m, join(dir, 'absent.h5')), (e: Error) => e instanceof ModelError && /cannot be read/.test(e.message));
    await writeFile(join(dir, 'text.h5'), 'not hdf5');
    await assert.rejects(importKerasWeights(m, join(dir, 'text.h5')), /not an HDF5 file/);
    await h5wasm.ready;
    const f = new h5wasm.File(join(dir, 'empty.h5'), 'w');
    f.create_group('something');
    f.close();
    await assert.rejects(importKerasWeights(m, join(dir, 'empty.h5')), /no 'layer_names' attribute/);
    m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
