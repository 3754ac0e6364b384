// --server-lr: one flag for simulate, tune and coordinator, written into the
// strategy's serverLearningRate and checked by the aggregation library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@fedxray/coordinator';
import { simulationSettings, type RunFlags } from './lib/run-options';
import { run } from './testing';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'] };

// (config-files.test.ts checks that both commands have the flag)
test('simulate and tune take --server-lr into the strategy config', () => {
  const flags = { hospitals: 3, rounds: 1, batchSize: 4, maxExamples: 0, strategy: 'fedavg', arch: 'densenet-tiny', backend: 'cpu', seed: 1, workers: false, augment: false, balance: 'none', cacheDir: '.cache' } satisfies RunFlags;
  assert.deepEqual(simulationSettings({ ...flags, serverLr: 1 }, undefined).strategy, { name: 'fedavg', serverLearningRate: 1 });
  assert.deepEqual(simulationSettings({ ...flags, strategy: 'fedavgm', serverLr: 0.5 }, undefined).strategy, { name: 'fedavgm', serverLearningRate: 0.5 });
  assert.deepEqual(simulationSettings(flags, undefined).strategy, { name: 'fedavg' }, 'no flag, no field: the coordinator fills in the default');
});

test('coordinator --server-lr is the strategy’s serverLearningRate; a strategy without one refuses it, and so does a rate that is not positive', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ waitTimeoutMs: 1000, model: MODEL }));
  const r = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--server-lr', '1', '--exit-when-done');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Waited 1 s for 2 hospitals/);
  const store = new RunStore(dataDir);
  try {
    assert.equal((store.runs()[0].config.strategy as { serverLearningRate?: number }).serverLearningRate, 1);
  } finally {
    store.close();
  }
  const median = await run('coordinator', '--data-dir', mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-')), '--config', file, '--port', '0', '--strategy', 'fedmedian', '--server-lr', '1.5');
  assert.equal(median.code, 2, median.err);
  assert.match(median.err, /Bad fedmedian config.*Unrecognized key: "serverLearningRate"/);
  const zero = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--server-lr', '0');
  assert.equal(zero.code, 2, zero.err);
  assert.match(zero.err, /Expected --server-lr to be a positive number, but got 0/);
});
