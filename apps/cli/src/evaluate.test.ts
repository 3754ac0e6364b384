import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { imageFolders, runFedxray, savedModel, tempDir } from './testing';

test('evaluate refuses class folders the model has no class for, naming them and a near match', { timeout: 120_000 }, async () => {
  const model = await savedModel(['left', 'right', 'top']);
  const data = await imageFolders({ left: 2, right: 2, Top: 2, cats: 1 });
  const r = await runFedxray(['evaluate', '--model', model, '--data', data, '--split', 'all', '--backend', 'cpu', '--out', tempDir()]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /The class folders of .* do not match the model's classes \(left, right, top\): Top, cats are not among them\. Rename Top → top \(folders are matched by exact name\)/);
  assert.doesNotMatch(r.out, /accuracy/);
});

test('evaluate matches a subset of the model’s classes by name, in the model’s order, and says which class has no folder', { timeout: 120_000 }, async () => {
  // The model's order (right, left, top) differs from the folders' sorted order (left, right), and the counts differ, so a mix-up shows.
  const model = await savedModel(['right', 'left', 'top']);
  const data = await imageFolders({ left: 5, right: 3 });
  const out = tempDir();
  const r = await runFedxray(['evaluate', '--model', model, '--data', data, '--split', 'all', '--backend', 'cpu', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /Class folders matched to the model's classes by name: right, left; no folder for top \(no images of that class: its recall and AUC are undefined\)/);
  const support = Object.fromEntries(
    r.out
      .split('\n')
      .map((l) => /^(right|left|top)\s.*\s(\d+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m![1], Number(m![2])]),
  );
  assert.deepEqual(support, { right: 3, left: 5, top: 0 });
  assert.match(r.out, new RegExp(`Report .*: ${join(out).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
});

test('after simulate, evaluate with no split flags scores the run’s own test images and reproduces its test metrics; its training images are refused unless allowed', { timeout: 300_000 }, async () => {
  const { Simulation } = await import('@fedxray/simulation');
  const data = await imageFolders({ left: 14, right: 14, top: 14 });
  const run = tempDir('fedxray-sim-');
  const sim = new Simulation(
    Simulation.parse({ data, out: run, hospitals: 2, rounds: 1, localEpochs: 1, seed: 42, batchSize: 8, backend: 'cpu', workers: false, augment: false, model: { arch: 'densenet-tiny', imageSize: 16 } }),
  );
  const { result, summary } = await sim.run();
  assert.equal(result.status, 'complete', result.error);
  const model = join(run, 'model');
  const meta = JSON.parse(readFileSync(join(model, 'fedxray.json'), 'utf8'));
  assert.equal(meta.split.seed, 42);
  assert.deepEqual(meta.split, summary.split, 'the run and the saved model record the same split');
  assert.equal(meta.split.counts.test, result.final!.examples);

  const out = tempDir();
  const r = await runFedxray(['evaluate', '--model', model, '--data', data, '--backend', 'cpu', '--out', out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`Split: content-hash, seed 42, ratios 0\\.8:0\\.1:0\\.1 \\(recorded in the model\\); the same ${meta.split.counts.test} test images the run was scored on`));
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  const scored = report.final.test.metrics;
  assert.equal(scored.count, result.final!.examples);
  assert.equal(scored.accuracy, result.final!.accuracy);
  assert.ok(Math.abs(scored.loss - result.final!.loss) < 1e-9, `loss ${scored.loss} vs the run's ${result.final!.loss}`);
  assert.equal(report.config.trainedOn, 0);

  // the seed evaluate used to default to (0) puts training images into "test": refused, then allowed on request
  const leaky = await runFedxray(['evaluate', '--model', model, '--data', data, '--split-seed', '0', '--backend', 'cpu', '--out', tempDir()]);
  assert.equal(leaky.code, 2, leaky.err);
  assert.match(leaky.err, /(\d+) of the \d+ images to score \(\d+ %, test split, seed 0\) are among the model's training images \(same content hash\).*--allow-training-overlap/);
  const allowed = await runFedxray(['evaluate', '--model', model, '--data', data, '--split-seed', '0', '--allow-training-overlap', '--backend', 'cpu', '--out', tempDir()]);
  assert.equal(allowed.code, 0, allowed.err);
  assert.match(allowed.err, /Warning: \d+ of the \d+ images were in the model's training set \(--allow-training-overlap\)/);

  // the same model as the dashboard's archive: the same scores, and its training images still refused
  const { packModel } = await import('@fedxray/model');
  const { TRAINING_IMAGES_FILE } = await import('@fedxray/data');
  const archive = join(tempDir(), 'model.tar');
  await pipeline(await packModel(model, 'fedxray-model'), createWriteStream(archive));
  const archived = tempDir();
  const fromTar = await runFedxray(['evaluate', '--model', archive, '--data', data, '--backend', 'cpu', '--out', archived]);
  assert.equal(fromTar.code, 0, fromTar.err);
  const tarReport = JSON.parse(readFileSync(join(archived, 'report.json'), 'utf8'));
  assert.equal(tarReport.final.test.metrics.accuracy, scored.accuracy);
  assert.equal(tarReport.config.model, archive);
  const tarLeaky = await runFedxray(['evaluate', '--model', archive, '--data', data, '--split-seed', '0', '--backend', 'cpu', '--out', tempDir()]);
  assert.equal(tarLeaky.code, 2, tarLeaky.err);
  assert.match(tarLeaky.err, new RegExp(`among the model's training images`), `the archive carries ${TRAINING_IMAGES_FILE}`);
});
