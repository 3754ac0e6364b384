import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel, getNamedWeights, headStatsFromNamed, ModelSpecSchema } from '@fedxray/model';
import { InlineTrainer } from './trainer';
import { blobs } from './test-images';
import { redact } from './session';

const CLASSES = ['left', 'right'];


const fitConfig = { localEpochs: 1, batchSize: 8, proximalMu: 0, keepLocal: [] as string[], weightsDtype: 'float32' as const, maxExamplesPerEpoch: 0, seed: 1, localLoss: { name: 'ce' as const } };

test('fit returns every weight and aggregate metrics; evaluate a summary in the run’s class order; calibrate only BatchNorm statistics', { timeout: 120_000 }, async () => {
  const dir = await blobs(12);
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'cpu', augment: false, threads: 0 });
  const facts = trainer.facts();
  assert.deepEqual(facts.classes, CLASSES);
  assert.equal(facts.examples.train + facts.examples.val + facts.examples.test, 24);
  // The run lists the classes in the other order: labels must be mapped by name.
  const runClasses = ['right', 'left'];
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: runClasses });
  await trainer.setup(spec as unknown as Record<string, unknown>, runClasses);
  const model = buildModel(spec, { seed: 3 });
  const global = getNamedWeights(model);
  model.dispose();
  const before = tf.memory().numTensors;
  const out = await trainer.fit(global, fitConfig);
  assert.deepEqual(
    out.weights.map((w) => w.name),
    global.map((w) => w.name),
  );
  assert.equal(out.examples, facts.examples.train);
  assert.ok(Number.isFinite(out.metrics.loss) && out.metrics.accuracy >= 0 && out.metrics.accuracy <= 1);
  const summary = await trainer.evaluate(out.weights, 'test');
  assert.deepEqual(summary.classes, runClasses);
  assert.equal(summary.count, facts.examples.test);
  const cal = await trainer.calibrate(out.weights, 16);
  assert.ok(cal.stats.length > 0 && cal.stats.every((t) => /\/moving_(mean|variance)$/.test(t.name)));
  assert.ok(cal.examples > 0 && cal.examples <= 16);
  // head calibration's class statistics: every training image (up to the cap), per class
  const head = await trainer.calibrate(out.weights, 1000, undefined, 'head');
  const stats = headStatsFromNamed(head.stats, 2, 512, facts.examples.train);
  assert.equal(head.examples, facts.examples.train);
  assert.ok(stats.counts.every((n) => n > 0), 'both classes counted');
  assert.equal((await trainer.calibrate(out.weights, 3, undefined, 'head')).examples, 3, 'at most maxExamples images');
  assert.equal(tf.memory().numTensors, before, 'fit, evaluate and calibrate leak no tensors');
  await trainer.close();
});

test('FedBN: tensors kept local are not sent, and keep this hospital’s values next round', { timeout: 120_000 }, async () => {
  const dir = await blobs(8);
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'cpu', augment: false, threads: 0 });
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: CLASSES });
  await trainer.setup(spec as unknown as Record<string, unknown>, CLASSES);
  const model = buildModel(spec, { seed: 4 });
  const global = getNamedWeights(model);
  model.dispose();
  // FedBN names BatchNorm tensors; the mechanism is the same for any names, and the
  // output layer makes a visible probe: huge logits mean a huge loss.
  const local = global.filter((w) => /bn\/(gamma|beta|moving_mean|moving_variance)$/.test(w.name) || w.name.startsWith('dense_1/')).map((w) => w.name);
  const config = { ...fitConfig, keepLocal: local };
  const r1 = await trainer.fit(global, config);
  assert.ok(r1.weights.every((w) => !local.includes(w.name)), 'kept-local tensors are not sent');
  assert.equal(r1.weights.length, global.length - local.length);
  // Round 2 starts from a global model whose kept-local tensors are huge: had the
  // hospital used them instead of its own, the logits and the loss would explode.
  const kept = (trainer as unknown as { local: Map<string, Float32Array> }).local;
  assert.deepEqual([...kept.keys()].sort(), [...local].sort());
  const poisoned = global.map((w) => (local.includes(w.name) ? { ...w, values: Float32Array.from({ length: w.values.length }, (_, k) => (k % 3 === 0 ? 1e4 : -1e4)) } : w));
  const r2 = await trainer.fit(poisoned, config);
  assert.ok(Number.isFinite(r2.metrics.loss) && r2.metrics.loss < 5, `round 2 loss ${r2.metrics.loss}`);
  await trainer.close();
});

test('error messages sent to the coordinator carry no file paths', () => {
  assert.equal(redact("Input file is missing: /data/xrays/covid19/patient-0042.png (truncated)"), 'Input file is missing: <path> (truncated)');
  assert.equal(redact('C:\\Users\\rad\\scan 1.dcm failed'), '<path> 1.dcm failed');
  assert.ok(!redact('cannot open ./images/a.png').includes('a.png'));
});

// Last in this file: it leaves this process's wasm backend dead.
test('a hospital lacking a class: labels follow the run’s order, its summary covers every run class; --classes refuses a folder it does not name', { timeout: 120_000 }, async () => {
  // Prepare: only "right" images, with the classes named as [left, right].
  const dir = await blobs(12);
  rmSync(join(dir, 'left'), { recursive: true });
  const trainer = await InlineTrainer.create({ data: { dir, classes: ['left', 'right'] }, backend: 'cpu', augment: false, threads: 0 });
  const runClasses = ['top', 'right', 'left'];
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: runClasses });
  // Execute
  const facts = trainer.facts();
  await trainer.setup(spec as unknown as Record<string, unknown>, runClasses);
  const fit = await trainer.fit(null, fitConfig);
  const summary = await trainer.evaluate(fit.weights, 'test');
  await trainer.close();
  // Assert
  assert.deepEqual([facts.classes, facts.withImages], [['left', 'right'], ['right']]);
  assert.deepEqual(summary.classes, runClasses);
  assert.deepEqual(
    summary.confusion.map((row) => row.reduce((a, b) => a + b, 0)),
    [0, facts.examples.test, 0],
    'every test image is a true "right", row 1 of the run',
  );
  await assert.rejects(
    InlineTrainer.create({ data: { dir: await blobs(2), classes: ['right'] }, backend: 'cpu' }),
    (err: Error) => err.name === 'UnlistedClassesError' && /has class folder left, which the classes given \(right\) do not name/.test(err.message),
  );
});

test('after the wasm backend dies, the job and every later one fail with one clear error', { timeout: 120_000 }, async () => {
  const dir = await blobs(4);
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'wasm', augment: false, threads: 0 });
  const spec = ModelSpecSchema.parse({ arch: 'densenet-tiny', imageSize: 16, classes: CLASSES });
  await trainer.setup(spec as unknown as Record<string, unknown>, CLASSES);
  const healthy = await trainer.evaluate(null, 'test');
  assert.equal(healthy.count, trainer.facts().examples.test);
  const model = buildModel(spec, { seed: 1 });
  const weights = getNamedWeights(model);
  model.dispose();
  // Fill the heap to its 4 GiB limit with the module's own malloc (pages never written: no real memory).
  const malloc = (tf.findBackend('wasm') as unknown as { wasm: { asm: { malloc(n: number): number } } }).wasm.asm.malloc;
  for (const size of [2 ** 30, 2 ** 20, 2 ** 10]) while (malloc(size) !== 0);
  const dead = /wasm backend failed \(out of memory: could not allocate \d+ bytes\).*cannot compute anything more in this process/;
  await assert.rejects(trainer.fit(null, fitConfig), dead);
  await assert.rejects(trainer.evaluate(null, 'test'), dead);
  await assert.rejects(trainer.calibrate(weights, 8), dead);
});
