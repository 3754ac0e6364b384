// A saved model's normalisation (fedxray.json) is what evaluate applies unless told otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageFolders, runFedxray, tempDir } from './testing';

test('evaluate normalises as the saved model records (spec.normalize → fedxray.json); --normalize overrides', { timeout: 120_000 }, async () => {
  const { ModelSpecSchema, buildModel, saveModel } = await import('@fedxray/model');
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, channels: 3, classes: ['left', 'right'], head: { units: 8, dropout: 0 }, normalize: 'imagenet' });
  const model = buildModel(spec, { seed: 1 });
  const dir = join(tempDir('fedxray-model-'), 'model');
  await saveModel(model, dir, { spec });
  model.dispose();
  assert.equal(JSON.parse(readFileSync(join(dir, 'fedxray.json'), 'utf8')).normalize, 'imagenet');
  const data = await imageFolders({ left: 2, right: 2 });
  const evaluate = async (...extra: string[]) => {
    const out = tempDir();
    const r = await runFedxray(['evaluate', '--model', dir, '--data', data, '--split', 'all', '--backend', 'cpu', '--out', out, ...extra]);
    assert.equal(r.code, 0, r.err);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    return { normalize: report.config.normalize, loss: report.final.test.summary.lossSum };
  };
  const own = await evaluate();
  const rescaled = await evaluate('--normalize', 'rescale');
  assert.equal(own.normalize, 'imagenet');
  assert.equal(rescaled.normalize, 'rescale');
  assert.notEqual(own.loss, rescaled.loss, 'the pixels differ, so the loss does');
});
