// The trainer thread's typed messages, end to end: every LocalTrainer method
// crosses to the thread and back, progress arrives, and an error in the thread
// rejects the call with its message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { buildModel, getNamedWeights, ModelSpecSchema } from '@fedxray/model';
import { mulberry32 } from '@fedxray/runtime';
import { WorkerTrainer } from './worker-trainer';
import type { FitProgress } from './trainer';

/** `perClass` noise images (16×16 gray PNG) in each of two class folders. */
async function noiseFolders(perClass: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-worker-'));
  const random = mulberry32(5);
  for (const c of ['left', 'right']) {
    mkdirSync(join(dir, c));
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.from(Array.from({ length: 256 }, () => Math.floor(random() * 256)));
      await sharp(px, { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(dir, c, `${c}-${i}.png`));
    }
  }
  return dir;
}

test('WorkerTrainer: setup, fit with progress, evaluate, calibrate and close cross to the thread; its errors reject the call', { timeout: 180_000 }, async () => {
  const dir = await noiseFolders(10);
  const trainer = await WorkerTrainer.create({ data: { dir }, backend: 'cpu', augment: false, threads: 0 });
  try {
    const facts = trainer.facts();
    assert.deepEqual(facts.classes, ['left', 'right']);
    assert.equal(trainer.backend(), 'cpu');
    await assert.rejects(trainer.evaluate(null, 'test'), /evaluate before setup/);
    const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: facts.classes });
    await trainer.setup(spec as unknown as Record<string, unknown>, facts.classes);
    const model = buildModel(spec, { seed: 2 });
    const global = getNamedWeights(model);
    model.dispose();
    const progress: FitProgress[] = [];
    const fit = await trainer.fit(global, { localEpochs: 1, batchSize: 4, proximalMu: 0, keepLocal: [], weightsDtype: 'float32', maxExamplesPerEpoch: 0, seed: 1, localLoss: { name: 'ce' } }, (p) => progress.push(p));
    assert.deepEqual(
      fit.weights.map((w) => w.name),
      global.map((w) => w.name),
    );
    assert.ok(fit.weights.every((w) => w.values instanceof Float32Array));
    assert.equal(fit.examples, facts.examples.train);
    assert.ok(progress.length > 0 && progress.at(-1)!.done === progress.at(-1)!.total, JSON.stringify(progress.at(-1)));
    const summary = await trainer.evaluate(fit.weights, 'test');
    assert.equal(summary.count, facts.examples.test);
    const cal = await trainer.calibrate(fit.weights, 8);
    assert.ok(cal.examples > 0 && cal.examples <= 8 && cal.stats.every((t) => /\/moving_(mean|variance)$/.test(t.name)));
    // the target crosses to the thread too
    const head = await trainer.calibrate(fit.weights, 8, undefined, 'head');
    assert.deepEqual(head.stats.map((t) => t.name), ['head/counts', 'head/sum', 'head/second']);
    assert.equal(head.examples, 8);
  } finally {
    await trainer.close();
  }
  await assert.rejects(trainer.setup({}, []), /trainer is closed/);
});
