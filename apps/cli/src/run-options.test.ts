// --preset study: what it sets, and that flags given beside it (and a --config
// file's values) win; the same for coordinator start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { PRESETS, addRunOptions, configFileSchema, simulationSettings, withConfigFile, type RunFlags } from './lib/run-options';
import { coordinatorCommand, coordinatorConfig } from './commands/coordinator';
import { run } from './testing';

function parsed(args: string[]): { flags: RunFlags; cmd: Command } {
  const cmd = addRunOptions(new Command('simulate').option('--config <file>')).action(() => undefined);
  cmd.parse(args, { from: 'user' });
  return { flags: withConfigFile(cmd.opts() as RunFlags & { config?: string }, cmd, configFileSchema({})), cmd };
}

test('--preset study sets the study setting; flags given beside it win, and so do a --config file’s values', () => {
  const { flags } = parsed(['--demo', '--preset', 'study', '--batch-size', '8']);
  assert.equal(flags.batchSize, 8, 'a flag given wins');
  for (const k of ['arch', 'imageSize', 'weights', 'normalize', 'trainable', 'output', 'augment', 'balance'] as const) assert.equal(flags[k], PRESETS.study[k], k);
  const s = simulationSettings(flags, 'data');
  assert.deepEqual(s.model, { arch: 'densenet121', imageSize: 224, output: 'sigmoid', normalize: 'imagenet' });
  assert.equal(s.weights, 'imagenet');
  assert.equal(s.trainable, 'head');
  assert.equal(s.featureCacheDir, join('.cache', 'hospitals'));

  const file = join(mkdtempSync(join(tmpdir(), 'fedxray-preset-')), 'run.json');
  writeFileSync(file, JSON.stringify({ preset: 'study', imageSize: 128, normalize: 'rescale' }));
  const fromFile = parsed(['--config', file, '--arch', 'densenet-tiny']).flags;
  assert.equal(fromFile.arch, 'densenet-tiny', 'the command line wins over the preset');
  assert.equal(fromFile.imageSize, 128, "the file's value wins over the preset");
  assert.equal(fromFile.normalize, 'rescale', "the study's own 1/255 rescaling stays available");
  assert.equal(fromFile.weights, 'imagenet', 'the preset named in the file applies');

  const none = parsed(['--demo']).flags;
  assert.equal(none.weights, undefined);
  assert.equal(none.trainable, undefined);
  assert.equal(none.batchSize, 32);
});

test('coordinator start --preset study: the study setting in the run config; --weights, --trainable and the file win', () => {
  const start = coordinatorCommand().commands.find((c) => c.name() === 'start')!;
  start.action(() => undefined);
  start.parse(['--preset', 'study', '--classes', 'a,b', '--trainable', 'from:conv5_block1_0_bn'], { from: 'user' });
  const c = coordinatorConfig(start.opts(), start, { fit: { batchSize: 16 } });
  assert.equal(c.weights, 'imagenet');
  assert.equal(c.trainable, 'from:conv5_block1_0_bn');
  assert.deepEqual(c.model, { arch: 'densenet121', imageSize: 224, classes: ['a', 'b'], output: 'sigmoid', normalize: 'imagenet' });
  assert.equal(c.fit.batchSize, 16);
});

test('model summary --trainable: a DenseNet-121 update under head is the head’s 528,900 values (~2 MB), under all the whole 30 MB', { timeout: 120_000 }, async () => {
  const r = await run('model', 'summary', '--arch', 'densenet121', '--classes', '4', '--trainable', 'all,head', '--json');
  assert.equal(r.code, 0, r.err);
  const [all, head] = JSON.parse(r.out).updates;
  assert.deepEqual([all.trainable, all.tensors, all.float32Bytes], ['all', 612, 7_566_404 * 4]);
  // Dense(1024→512), BatchNorm(512) with its moving statistics, Dense(512→4).
  assert.deepEqual([head.trainable, head.tensors, head.float32Bytes, head.float16Bytes], ['head', 8, 528_900 * 4, 528_900 * 2]);
  const bad = await run('model', 'summary', '--arch', 'densenet-tiny', '--trainable', 'from:conv9');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /no layer "conv9"/);
});
