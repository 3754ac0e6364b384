// --head-calibration last|every|off: one flag for simulate, tune and coordinator,
// written into the coordinator's headCalibration (its other fields from --config kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@fedxray/coordinator';
import { simulationSettings, type RunFlags } from './lib/run-options';
import { run } from './testing';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'] };

test('simulate and tune take --head-calibration into the simulation settings; absent, the simulation’s default (last) applies', () => {
  const flags = { hospitals: 3, rounds: 1, batchSize: 4, maxExamples: 0, strategy: 'fedavg', arch: 'densenet-tiny', backend: 'cpu', seed: 1, workers: false, augment: false, balance: 'none', cacheDir: '.cache' } satisfies RunFlags;
  assert.equal('headCalibration' in simulationSettings(flags, undefined), false);
  for (const when of ['last', 'every', 'off'] as const) assert.equal(simulationSettings({ ...flags, headCalibration: when }, undefined).headCalibration, when);
});

test('coordinator --head-calibration sets headCalibration and keeps the fields the config file gives; a bad value is refused', { timeout: 120_000 }, async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-')), 'config.json');
  writeFileSync(file, JSON.stringify({ waitTimeoutMs: 1000, model: MODEL, headCalibration: { samplesPerClass: 50 } }));
  const configOf = async (...flags: string[]) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
    const r = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', ...flags, '--exit-when-done');
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /Waited 1 s for 2 hospitals/);
    const store = new RunStore(dataDir);
    try {
      return store.runs()[0].config.headCalibration as Record<string, unknown>;
    } finally {
      store.close();
    }
  };
  const every = await configOf('--head-calibration', 'every');
  assert.deepEqual([every.enabled, every.rounds, every.samplesPerClass], [true, 'every', 50]);
  const off = await configOf('--head-calibration', 'off');
  assert.deepEqual([off.enabled, off.samplesPerClass], [false, 50]);
  const none = await configOf();
  assert.deepEqual([none.enabled, none.rounds, none.samplesPerClass, none.steps], [true, 'last', 50, 300], 'the defaults where the file is silent');
  const bad = await run('coordinator', '--data-dir', mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-')), '--config', file, '--port', '0', '--head-calibration', 'sometimes');
  assert.notEqual(bad.code, 0, bad.err);
  assert.match(bad.err, /--head-calibration <when>' argument 'sometimes' is invalid\. Allowed choices are last, every, off/);
});
