import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../backend';
import { buildModel } from '../densenet';
import { blobImages, tinySpec } from '../test-util';
import { applyTrainable } from '../trainable';
import { getNamedWeights } from '../weights';
import { ParallelTrainer } from './trainer';

await initBackend('auto');

test('with workers, training from: a layer changes only the planned tensors; frozen ones stay bit for bit', async () => {
  const spec = tinySpec({ optimizer: { name: 'adam', learningRate: 0.01 } });
  const model = buildModel(spec, { seed: 9 });
  const plan = applyTrainable(model, { kind: 'from', layer: 'conv3_block1_0_bn' });
  const trainer = await ParallelTrainer.create(model, spec, { workers: 2, microBatch: 4 });
  const { x, labels } = blobImages(12, 32, 4);
  try {
    const before = new Map(getNamedWeights(model).map((w) => [w.name, w.values]));
    await trainer.trainBatch(x, labels);
    const after = new Map(getNamedWeights(model).map((w) => [w.name, w.values]));
    for (const name of plan.frozen) assert.deepEqual(after.get(name), before.get(name), `${name} changed`);
    for (const name of [...plan.trained, ...plan.statistics]) assert.notDeepEqual(after.get(name), before.get(name), `${name} did not change`);
  } finally {
    x.dispose();
    await trainer.close();
    model.dispose();
  }
});
