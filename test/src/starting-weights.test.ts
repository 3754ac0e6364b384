// A federation that starts from given weights (issue 18's done criteria): a
// Keras-layout HDF5 file with only the head training, and an earlier run's
// model folder continued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Simulation } from '@fedxray/simulation';
import { encodeWeights } from '@fedxray/protocol';
import { buildModel, getNamedWeights, hashNamedWeights, isBackboneWeight, loadModel, parseTrainable, planTrainable, writeKerasWeights } from '@fedxray/model';
import { makeBlobDataset, tempDir } from './support/images';

const base = { hospitals: 2, partition: 'iid', localEpochs: 1, batchSize: 8, backend: 'cpu' as const, augment: false, workers: false, seed: 3 };

test('--weights <file.h5> --trainable head: after a round the backbone is bit-identical to the file, and hospitals upload only the head', { timeout: 180_000 }, async () => {
  const { dir, classes } = await makeBlobDataset({ perClass: 10, size: 16, seed: 11 });
  const spec = { arch: 'densenet-tiny' as const, imageSize: 16, channels: 3, classes: [...classes].sort() };
  const file = join(tempDir(), 'tiny_notop.h5');
  const source = buildModel(spec, { seed: 77 });
  const written = await writeKerasWeights(file, source, { notop: true });
  const full = getNamedWeights(source);
  source.dispose();

  const out = tempDir();
  const r = await new Simulation(Simulation.parse({ ...base, data: dir, rounds: 1, model: { arch: 'densenet-tiny', imageSize: 16 }, weights: file, trainable: 'head', crossSiteEvaluation: true, out })).run();
  assert.equal(r.result.status, 'complete', r.result.error);

  const { model, meta } = await loadModel(join(out, 'model'));
  const after = new Map(getNamedWeights(model).map((w) => [w.name, w.values]));
  model.dispose();
  assert.ok(written.length > 0 && written.every((w) => isBackboneWeight(w.name)));
  // Every backbone tensor, BatchNorm moving statistics included (calibration ran), as the file holds it.
  for (const w of written) assert.deepEqual(after.get(w.name), w.values, w.name);
  const plan = planTrainable(spec, parseTrainable('head'));
  const seeded = buildModel(spec, { seed: base.seed });
  const startHead = getNamedWeights(seeded).filter((w) => plan.trained.includes(w.name));
  seeded.dispose();
  assert.ok(startHead.length > 0 && startHead.some((w) => !w.values.every((v, i) => v === after.get(w.name)![i])), 'the head trained');
  assert.equal(meta.spec.channels, 3);

  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.rounds[0].fit.trainable, 'head');
  assert.equal(summary.startingWeights.source, file);
  assert.match(summary.startingWeights.description, /^keras: .*tiny_notop\.h5/);
  assert.match(summary.startingWeights.hash, /^[0-9a-f]{64}$/);
  // Each of the two updates carries exactly the head's trained tensors and its BatchNorm statistics.
  const headNames = new Set([...plan.trained, ...plan.statistics]);
  const headBytes = encodeWeights(full.filter((w) => headNames.has(w.name))).byteLength;
  const fullBytes = encodeWeights(full).byteLength;
  assert.equal(summary.rounds[0].transport.uploadBytes, 2 * headBytes);
  assert.ok(headBytes < fullBytes / 2, `head ${headBytes} B, whole model ${fullBytes} B`);
  assert.equal(summary.rounds[0].transport.downloadBytes, 2 * fullBytes);
  assert.deepEqual(summary.transport, summary.rounds[0].transport);
  // The head trained on the frozen backbone's cached features.
  const cache = join(out, 'feature-cache', 'hospital-1', 'features');
  assert.ok(existsSync(cache) && readdirSync(cache).length > 0, 'features cached');
  // Cross-site evaluation completes each hospital's head-only local model with the global's frozen backbone.
  const crossSite = JSON.parse(readFileSync(join(out, 'cross-site.json'), 'utf8'));
  assert.deepEqual(crossSite.models, ['hospital-1', 'hospital-2']);
  for (const row of crossSite.accuracy) for (const a of row) assert.ok(a >= 0 && a <= 1, `cross-site accuracy ${a}`);
});

test('--weights <model folder of an earlier run> continues it: round 1 starts from its weights, at its accuracy', { timeout: 240_000 }, async () => {
  const { dir } = await makeBlobDataset({ perClass: 12, size: 16, seed: 12 });
  const model = { arch: 'densenet-tiny', imageSize: 16, normalize: 'imagenet' };
  const first = tempDir();
  const a = await new Simulation(Simulation.parse({ ...base, data: dir, rounds: 2, model, out: first })).run();
  assert.equal(a.result.status, 'complete', a.result.error);
  const earlier = await loadModel(join(first, 'model'));
  const earlierHash = hashNamedWeights(getNamedWeights(earlier.model));
  earlier.model.dispose();
  // The saved model records its normalisation where predict and evaluate read it.
  assert.equal(earlier.meta.normalize, 'imagenet');

  const second = tempDir();
  const b = await new Simulation(Simulation.parse({ ...base, data: dir, rounds: 1, model: { arch: 'densenet-tiny', imageSize: 16 }, weights: join(first, 'model'), out: second })).run();
  assert.equal(b.result.status, 'complete', b.result.error);
  const summary = JSON.parse(readFileSync(join(second, 'summary.json'), 'utf8'));
  // Round 1's global model before training is the loaded one …
  assert.equal(summary.startingWeights.hash, earlierHash);
  // … and the continued run's initial evaluation is the earlier run's final one, on the same test images (normalised as it was trained).
  assert.equal(summary.model.normalize, 'imagenet');
  assert.equal(summary.initial.accuracy, a.result.final!.accuracy);
  assert.equal(summary.initial.loss, a.result.final!.loss);
  assert.notEqual(a.summary.initial, null);
  assert.notDeepEqual(summary.initial, (a.summary as any).initial, 'the continued run does not start where the first one did');
});

test('--schedule head:1,all:1: round 1 sends and aggregates the head only, round 2 everything', { timeout: 180_000 }, async () => {
  const { dir, classes } = await makeBlobDataset({ perClass: 10, size: 16, seed: 13 });
  const out = tempDir();
  const r = await new Simulation(Simulation.parse({ ...base, data: dir, rounds: 2, model: { arch: 'densenet-tiny', imageSize: 16 }, schedule: 'head:1,all:1', out })).run();
  assert.equal(r.result.status, 'complete', r.result.error);
  const spec = { arch: 'densenet-tiny' as const, imageSize: 16, classes: [...classes].sort() };
  const m = buildModel(spec, { seed: 0 });
  const full = getNamedWeights(m);
  m.dispose();
  const plan = planTrainable(spec, parseTrainable('head'));
  const head = new Set([...plan.trained, ...plan.statistics]);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(
    summary.rounds.map((x: any) => [x.fit.trainable, x.transport.uploadBytes]),
    [
      ['head', 2 * encodeWeights(full.filter((w) => head.has(w.name))).byteLength],
      ['all', 2 * encodeWeights(full).byteLength],
    ],
  );
  assert.equal(summary.transport.uploadBytes, summary.rounds[0].transport.uploadBytes + summary.rounds[1].transport.uploadBytes);
});

test('--baseline with --weights and frozen layers: the centralized baseline and each hospital alone start from the same loaded weights and train what the federation trained', { timeout: 300_000 }, async () => {
  const { dir, classes } = await makeBlobDataset({ perClass: 12, size: 16, seed: 14 });
  const model = { arch: 'densenet-tiny' as const, imageSize: 16 };
  const first = tempDir();
  const a = await new Simulation(Simulation.parse({ ...base, data: dir, rounds: 2, model, out: first })).run();
  assert.equal(a.result.status, 'complete', a.result.error);
  // Only the last Dense layer trains, at a learning rate too small to move it: every arm must end where it started.
  const built = buildModel({ ...model, classes: [...classes].sort() }, { seed: 0 });
  const last = built.layers.at(-1)!.name;
  built.dispose();
  const second = tempDir();
  const b = await new Simulation(
    // head calibration off: it would move the last layer, and this run is about where each arm starts
    Simulation.parse({ ...base, data: dir, rounds: 1, model, weights: join(first, 'model'), trainable: `from:${last}`, learningRate: 1e-12, baseline: true, headCalibration: 'off', out: second }),
  ).run();
  assert.equal(b.result.status, 'complete', b.result.error);
  const summary = JSON.parse(readFileSync(join(second, 'summary.json'), 'utf8'));
  assert.equal(summary.baseline.settings.start, 'federation');
  assert.equal(summary.baseline.settings.headCalibration, false, 'the federation did not recalibrate, so neither does the baseline');
  assert.deepEqual(summary.baseline.settings.trainable, [`from:${last}`], 'the baseline freezes what round 1 froze');
  // Scored on the same pooled test images, the baseline is the loaded model: the earlier run's final accuracy, not chance.
  assert.equal(summary.baseline.accuracy, a.result.final!.accuracy);
  assert.ok(Math.abs(summary.baseline.loss - a.result.final!.loss) < 1e-6, `baseline loss ${summary.baseline.loss} vs ${a.result.final!.loss}`);
  for (const row of summary.personalised.hospitals) {
    assert.equal(row.alone.accuracy, row.global.accuracy, `${row.hospital}: alone starts (and, unmoved, ends) at the loaded model, as the federation's global did`);
  }
  assert.equal(summary.personalised.alone.start, 'federation');
});
