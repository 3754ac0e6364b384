// Two local epochs a round unless a run asks otherwise (since 2026-12-05; docs/EXPERIMENTS.md):
// simulate and tune, coordinator start, a --config file, and the libraries' own defaults agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinatorConfigSchema } from '@fedxray/coordinator';
import { Simulation } from '@fedxray/simulation';
import { simulationSettings, type RunFlags } from './lib/run-options';
import { coordinatorCommand, coordinatorConfig } from './commands/coordinator';

test('simulate and tune train 2 local epochs a round unless --local-epochs says otherwise, with or without --demo', () => {
  const flags = { hospitals: 3, rounds: 1, batchSize: 4, maxExamples: 0, strategy: 'fedavg', arch: 'densenet-tiny', backend: 'cpu', seed: 1, workers: false, augment: false, balance: 'none', cacheDir: '.cache' } satisfies RunFlags;
  assert.equal(simulationSettings(flags, 'data').localEpochs, 2);
  assert.equal(simulationSettings({ ...flags, demo: true }, 'data').localEpochs, 2);
  assert.equal(simulationSettings({ ...flags, localEpochs: 1 }, 'data').localEpochs, 1);
  assert.equal(Simulation.parse({ data: 'x', out: 'x' }).localEpochs, 2, "the simulation library's own default");
});

test('coordinator start: 2 local epochs by default; --local-epochs and a --config file’s fit.localEpochs win', () => {
  const start = () => {
    const cmd = coordinatorCommand().commands.find((c) => c.name() === 'start')!;
    return cmd.action(() => undefined);
  };
  const plain = start();
  plain.parse(['--classes', 'a,b'], { from: 'user' });
  assert.equal(coordinatorConfig(plain.opts(), plain, {}).fit.localEpochs, 2);
  const flag = start();
  flag.parse(['--classes', 'a,b', '--local-epochs', '1'], { from: 'user' });
  assert.equal(coordinatorConfig(flag.opts(), flag, {}).fit.localEpochs, 1);
  const file = start();
  file.parse(['--classes', 'a,b'], { from: 'user' });
  assert.equal(coordinatorConfig(file.opts(), file, { fit: { localEpochs: 3 } }).fit.localEpochs, 3);
  assert.equal(CoordinatorConfigSchema.parse({ dataDir: 'x', model: {} }).fit.localEpochs, 2, "a config without fit: the coordinator library's default");
  assert.equal(CoordinatorConfigSchema.parse({ dataDir: 'x', model: {}, fit: { batchSize: 8 } }).fit.localEpochs, 2, 'a fit without localEpochs');
});
