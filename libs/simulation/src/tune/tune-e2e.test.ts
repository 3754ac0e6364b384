import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { makeBlobs } from '../testing/blobs';
import { Tuner } from './tuner';

test('a real tune: the first two L9 trials as federated runs of a tiny DenseNet', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fedxray-tune-e2e-'));
  const data = join(root, 'data');
  await makeBlobs(data, 12, 16);
  const out = join(root, 'tune');
  const tuner = new Tuner({
    out,
    limit: 2,
    simulation: { data, hospitals: 2, partition: 'iid', rounds: 1, batchSize: 8, model: { arch: 'densenet-tiny', imageSize: 16, head: { units: 16 } }, backend: 'cpu', workers: false, seed: 5 },
  });
  const sims: number[] = [];
  tuner.on('simulation', ({ plan }) => sims.push(plan.trial));
  const result = await tuner.run();
  assert.deepEqual(sims, [1, 2]);
  assert.equal(result.trials.length, 2);
  for (const t of result.trials) {
    assert.equal(t.status, 'complete', t.error);
    assert.ok(t.testAccuracy! >= 0 && t.testAccuracy! <= 1, `test accuracy ${t.testAccuracy}`);
    assert.ok(t.trainAccuracy! >= 0 && t.trainAccuracy! <= 1, `train accuracy ${t.trainAccuracy}`);
    assert.ok(existsSync(join(out, t.runDir, 'summary.json')));
  }
  // trial 2 is row [0, 1, 1, 1]: adam, 0.0001, dropout 0.4, tanh; the run's model says so
  const summary = JSON.parse(readFileSync(join(out, 'trial-2', 'summary.json'), 'utf8'));
  assert.equal(summary.model.optimizer.name, 'adam');
  assert.equal(summary.model.optimizer.learningRate, 0.0001);
  assert.equal(summary.model.head.dropout, 0.4);
  assert.equal(summary.model.head.activation, 'tanh');
  assert.equal(summary.model.head.units, 16);
  assert.equal(summary.final.accuracy, result.trials[1].testAccuracy);
  assert.equal(summary.hospitals.length, 2);
  const onDisk = JSON.parse(readFileSync(join(out, 'tune.json'), 'utf8'));
  assert.deepEqual(onDisk.trials.map((t: { trial: number }) => t.trial), [1, 2]);
  assert.equal(onDisk.dataFingerprint.images, 36);

  // the data set changes under the tune: resuming is refused before anything runs
  await sharp(Buffer.alloc(16 * 16, 200), { raw: { width: 16, height: 16, channels: 1 } }).png().toFile(join(data, 'left', 'left-0.png'));
  const again = new Tuner({ out, simulation: tuner.options.simulation });
  let ran = 0;
  again.on('trialStart', () => ran++);
  await assert.rejects(again.run(), /The data set changed since the finished trials/);
  assert.equal(ran, 0);
});
