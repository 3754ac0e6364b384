import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isBatchNormStatistic } from '@fedxray/aggregation';
import { Simulation } from '@fedxray/simulation';
import { InlineTrainer } from '@fedxray/hospital';
import { batches, scanDataset, splitDataset } from '@fedxray/data';
import { getNamedWeights, initBackend, loadModel } from '@fedxray/model';
import { makeBlobDataset, tempDir } from './support/images';

// The study's model at its real size, on the embedded wasm backend: every phase of a round must
// fit the 4 GiB wasm heap (issue 15: calibration at batch 32 aborted the module).
const SIZE = 224;
const SPEC = { arch: 'densenet121', imageSize: SIZE } as const;

/** Two hospitals' folders with a handful of images each: per class 8 train, 1 val, 1 test. */
const hospitals = Promise.all([21, 22].map(async (seed) => (await makeBlobDataset({ perClass: 10, size: SIZE, seed, classes: ['left', 'right'] })).dir));

/** Mean and population variance per channel of conv1/conv's output over the hospitals' training images, in float64. */
async function stemMoments(modelDir: string, dirs: string[]): Promise<{ mean: Float64Array; variance: Float64Array }> {
  const { model } = await loadModel(modelDir);
  const stem = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv1/conv').output as tf.SymbolicTensor });
  let sum: Float64Array | null = null;
  let sq: Float64Array | null = null;
  let positions = 0;
  for (const dir of dirs) {
    const train = splitDataset(await scanDataset(dir), { seed: 42 }).train;
    for await (const b of batches(train, { imageSize: SIZE, channels: 3, batchSize: 4, shuffle: false, augment: false, balance: 'none' })) {
      const out = tf.tidy(() => stem.predict(tf.tensor4d(b.x, [b.n, SIZE, SIZE, 3])) as tf.Tensor);
      const v = out.dataSync();
      const c = out.shape[3]!;
      sum ??= new Float64Array(c);
      sq ??= new Float64Array(c);
      for (let i = 0; i < v.length; i++) {
        sum[i % c] += v[i];
        sq[i % c] += v[i] * v[i];
      }
      positions += v.length / c;
      out.dispose();
    }
  }
  model.dispose();
  const mean = sum!.map((s) => s / positions);
  return { mean, variance: sq!.map((s, k) => s / positions - mean[k] ** 2) };
}

test('DenseNet-121 at 224 px on wasm, 2 hospitals, 1 round over the real coordinator and hospitals: fit, calibration, evaluation and cross-site evaluation succeed at every hospital', { timeout: 20 * 60_000 }, async () => {
  // Prepare
  const dirs = await hospitals;
  await initBackend('wasm');
  const coordinatorTensors = tf.memory().numTensors;
  const out = tempDir();
  // Hospitals train in worker threads, as `fedxray hospital` does, so their sockets answer while a step computes.
  const sim = new Simulation(
    Simulation.parse({ hospitalData: dirs, rounds: 1, localEpochs: 1, batchSize: 4, maxExamplesPerEpoch: 4, model: SPEC, backend: 'wasm', augment: false, balance: 'none', crossSiteEvaluation: true, out }),
  );
  const failures: string[] = [];
  sim.on('hospitalFailed', (f) => failures.push(`${f.hospital} ${f.phase} ${f.round}: ${f.error}`));
  sim.on('fitResult', (f) => (f.ok ? undefined : failures.push(`${f.hospital} fit ${f.round}: ${f.error}`)));
  // Execute
  const r = await sim.run();
  // Assert: every phase ran at every hospital
  assert.deepEqual(failures, []);
  assert.equal(r.result.status, 'complete', r.result.error);
  const round = r.result.rounds[0];
  assert.deepEqual(round.fit.hospitals, ['hospital-1', 'hospital-2']);
  assert.deepEqual(round.fit.calibratedBy, ['hospital-1', 'hospital-2']);
  // the last round's head calibration: both hospitals' class statistics of the 512 head features, at the real size
  assert.deepEqual(round.fit.headCalibratedBy, ['hospital-1', 'hospital-2']);
  assert.ok(r.hospitals.every((h) => h.examples.test > 0));
  const testImages = r.hospitals.reduce((s, h) => s + h.examples.test, 0);
  assert.equal(round.metrics?.examples, testImages, 'the evaluation covered every test image of every hospital');
  const cross = JSON.parse(readFileSync(join(out, 'cross-site.json'), 'utf8'));
  assert.deepEqual(cross.sites, ['hospital-1', 'hospital-2']);
  assert.ok(cross.accuracy.flat().every((a: number) => Number.isFinite(a)), 'cross-site evaluation ran at every site');
  // Calibration set the statistics to the data's: the first BatchNorm layer's input depends on no
  // normalisation, so its pooled statistics are the moments of conv1/conv over all training images.
  const { mean, variance } = await stemMoments(r.result.modelDir!, dirs);
  const { model } = await loadModel(r.result.modelDir!);
  const weights = getNamedWeights(model);
  model.dispose();
  // the server step (fedavg's default rate 1.5) recognises DenseNet-121's moving statistics by name, and takes their mean
  const statistics = weights.filter((w) => isBatchNormStatistic(w.name)).map((w) => w.name);
  assert.equal(statistics.length, 244, 'every BatchNorm layer’s moving mean and variance');
  assert.deepEqual(statistics, weights.filter((w) => /\/moving_(mean|variance)$/.test(w.name)).map((w) => w.name));
  const get = (name: string) => weights.find((w) => w.name === name)!.values;
  const [pooledMean, pooledVariance] = [get('conv1/bn/moving_mean'), get('conv1/bn/moving_variance')];
  for (let k = 0; k < mean.length; k++) {
    assert.ok(Math.abs(pooledMean[k] - mean[k]) <= 1e-3 * (Math.abs(mean[k]) + Math.sqrt(variance[k])), `mean[${k}] ${pooledMean[k]} vs ${mean[k]}`);
    assert.ok(Math.abs(pooledVariance[k] - variance[k]) <= 1e-3 * variance[k] + 1e-9, `variance[${k}] ${pooledVariance[k]} vs ${variance[k]}`);
  }
  assert.ok(
    variance.some((v) => Math.abs(v - 1) > 0.5),
    'the data’s statistics are far from the initial ones (mean 0, variance 1), so calibration changed them',
  );
  assert.equal(tf.memory().numTensors, coordinatorTensors, 'the coordinator leaked no tensor');
});

test('a hospital’s trainer runs DenseNet-121 at 224 px on wasm (fit, calibrate, evaluate) and leaks no tensor', { timeout: 20 * 60_000 }, async () => {
  const [dir] = await hospitals;
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'wasm', augment: false, balance: 'none', threads: 0 });
  await trainer.setup({ ...SPEC, classes: ['left', 'right'] }, ['left', 'right']);
  const before = tf.memory().numTensors;
  const fit = await trainer.fit(null, { localEpochs: 1, batchSize: 4, proximalMu: 0, keepLocal: [], weightsDtype: 'float32', maxExamplesPerEpoch: 4, seed: 1, localLoss: { name: 'ce' } });
  const calibration = await trainer.calibrate(fit.weights, 512);
  const summary = await trainer.evaluate(fit.weights, 'test');
  assert.equal(calibration.examples, trainer.facts().examples.train);
  assert.equal(summary.count, trainer.facts().examples.test);
  assert.equal(tf.memory().numTensors, before, 'fit, calibrate and evaluate leaked no tensor');
  await trainer.close();
});

test('the default loss at a hospital lacking a class (restricted softmax) trains DenseNet-121 at 224 px: finite, and not cross-entropy', { timeout: 20 * 60_000 }, async () => {
  const [dir] = await hospitals;
  await initBackend('wasm');
  const classes = ['left', 'right', 'absent'];
  const trainer = await InlineTrainer.create({ data: { dir }, backend: 'wasm', augment: false, balance: 'none', threads: 0 });
  await trainer.setup({ ...SPEC, classes }, classes);
  const config = { localEpochs: 1, batchSize: 4, proximalMu: 0, keepLocal: [], weightsDtype: 'float32' as const, maxExamplesPerEpoch: 4, seed: 1 };
  const start = (await trainer.fit(null, { ...config, localLoss: { name: 'ce' } })).weights;
  const ce = await trainer.fit(start, { ...config, localLoss: { name: 'ce' } });
  const restricted = await trainer.fit(start, { ...config, localLoss: { name: 'restricted', scale: 0.5 } });
  await trainer.close();
  assert.ok(Number.isFinite(restricted.metrics.loss), `loss ${restricted.metrics.loss}`);
  const kernel = (w: typeof start) => w.find((t) => t.name === 'dense_1/kernel')!.values;
  assert.ok(kernel(restricted.weights).every(Number.isFinite), 'the last layer stays finite');
  assert.notDeepEqual(kernel(restricted.weights), kernel(ce.weights), 'the hospital lacks "absent": its logit is scaled in the loss');
});
