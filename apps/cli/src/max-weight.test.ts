// --max-weight: one flag for simulate, tune and coordinator, written into the
// strategy's maxWeight and checked by the aggregation library.
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
test('simulate and tune take --max-weight into the strategy config', () => {
  const flags = { hospitals: 3, rounds: 1, batchSize: 4, maxExamples: 0, strategy: 'fedavg', arch: 'densenet-tiny', backend: 'cpu', seed: 1, workers: false, augment: false, balance: 'none', cacheDir: '.cache' } satisfies RunFlags;
  assert.deepEqual(simulationSettings({ ...flags, maxWeight: 0.25 }, undefined).strategy, { name: 'fedavg', maxWeight: 0.25 });
  assert.deepEqual(simulationSettings({ ...flags, fedbn: true }, undefined).strategy, { name: 'fedavg', batchNorm: 'local' });
});

test('coordinator --max-weight is the strategy’s maxWeight; a strategy that does not weight updates refuses it, and so does a share outside (0, 1]', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ waitTimeoutMs: 1000, model: MODEL }));
  const r = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--max-weight', '0.25', '--exit-when-done');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Waited 1 s for 2 hospitals/);
  const store = new RunStore(dataDir);
  try {
    assert.deepEqual(store.runs()[0].config.strategy, { name: 'fedavg', batchNorm: 'average', groupUpdates: 16, serverLearningRate: 1.5, maxWeight: 0.25 });
  } finally {
    store.close();
  }
  const median = await run('coordinator', '--data-dir', mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-')), '--config', file, '--port', '0', '--strategy', 'fedmedian', '--max-weight', '0.5');
  assert.equal(median.code, 2, median.err);
  assert.match(median.err, /fedmedian does not weight updates.*weighted strategies: fedavg, /);
  const big = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--max-weight', '2');
  assert.equal(big.code, 2, big.err);
  assert.match(big.err, /Expected --max-weight to be a fraction in \(0, 1\], but got 2/);
});
