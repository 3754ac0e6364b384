// --local-loss: one flag for simulate, tune and coordinator, written into the
// coordinator's fit.localLoss and sent to the hospitals with every fit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@fedxray/coordinator';
import { simulationSettings, type RunFlags } from './lib/run-options';
import { UsageError } from './usage';
import { run } from './testing';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'] };

// (config-files.test.ts checks that simulate and tune have the flag)
test('simulate and tune take --local-loss into the simulation settings; absent, the simulation’s default applies', () => {
  const flags = { hospitals: 3, rounds: 1, batchSize: 4, maxExamples: 0, strategy: 'fedavg', arch: 'densenet-tiny', backend: 'cpu', seed: 1, workers: false, augment: false, balance: 'none', cacheDir: '.cache' } satisfies RunFlags;
  assert.equal('localLoss' in simulationSettings(flags, undefined), false);
  assert.deepEqual(simulationSettings({ ...flags, localLoss: 'logit-adjusted' }, undefined).localLoss, { name: 'logit-adjusted', tau: 1 });
  assert.deepEqual(simulationSettings({ ...flags, localLoss: 'logit-adjusted:0.5' }, undefined).localLoss, { name: 'logit-adjusted', tau: 0.5 });
  assert.deepEqual(simulationSettings({ ...flags, localLoss: 'restricted:0' }, undefined).localLoss, { name: 'restricted', scale: 0 });
  assert.deepEqual(simulationSettings({ ...flags, localLoss: 'ce' }, undefined).localLoss, { name: 'ce' });
  for (const bad of ['focal', 'ce:1', 'restricted:2', 'logit-adjusted:x', 'logit-adjusted:', 'restricted:0.5:1']) {
    assert.throws(() => simulationSettings({ ...flags, localLoss: bad }, undefined), (e: Error) => e instanceof UsageError && /Expected the local loss to be ce, logit-adjusted\[:τ\] .* but got/.test(e.message), bad);
  }
});

test('coordinator --local-loss is the config’s fit.localLoss; a bad value is refused with the valid forms', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ waitTimeoutMs: 1000, model: MODEL }));
  const r = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--local-loss', 'restricted:0.25', '--exit-when-done');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Waited 1 s for 2 hospitals/);
  const store = new RunStore(dataDir);
  try {
    assert.deepEqual((store.runs()[0].config.fit as { localLoss?: unknown }).localLoss, { name: 'restricted', scale: 0.25 });
  } finally {
    store.close();
  }
  const bad = await run('coordinator', '--data-dir', mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-')), '--config', file, '--port', '0', '--local-loss', 'focal');
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /--local-loss: Expected the local loss to be ce, logit-adjusted\[:τ\]/);
});
