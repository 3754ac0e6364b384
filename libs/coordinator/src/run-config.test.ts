// The run config's weights, trainable and schedule fields: checked whole at
// start, with the preprocessing the starting weights call for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULT_FEDAVG_SERVER_LEARNING_RATE, resolveConfig, resumedConfig, runDifferences } from './run-config';
import { roundTensors, withFrozen, withoutFrozen } from './trainable-round';
import { config } from './testing';
import { fitInstructions, type FitPhase } from './fit-phase';

test('--weights imagenet sets 3 channels and ImageNet normalisation (and says so); rescale stays available; 1 channel is refused', () => {
  const r = resolveConfig(config({ weights: 'imagenet' }));
  assert.equal(r.spec.channels, 3);
  assert.equal(r.spec.normalize, 'imagenet');
  assert.equal(r.config.model.normalize, 'imagenet', 'stored with the run, sent to hospitals');
  assert.match(r.notes.join('\n'), /weights imagenet: 3 channels .*ImageNet normalisation/);
  const study = resolveConfig(config({ weights: 'imagenet', model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'], normalize: 'rescale' } }));
  assert.equal(study.spec.normalize, 'rescale');
  assert.throws(() => resolveConfig(config({ weights: 'imagenet', model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'], channels: 1 } })), (e: Error) => e instanceof ConfigError && /Invalid weights: ImageNet weights expect 3 input channels, but 1 was asked for/.test(e.message));
  assert.throws(() => resolveConfig(config({ weights: '/no/such/file.h5' })), /Invalid weights: Expected --weights to be one of random, imagenet, <file.h5>, <model folder>, but "\/no\/such\/file.h5"/);
  // No weights: the spec as given (no normalisation chosen for the hospitals).
  assert.equal(resolveConfig(config()).spec.normalize, undefined);
});

test('trainable and schedule: checked against the model at start; frozen tensors per round', () => {
  assert.equal(resolveConfig(config()).schedule, null);
  const head = resolveConfig(config({ trainable: 'head' }));
  const r1 = roundTensors(head.schedule, head.spec, 1);
  assert.equal(r1.trainable, 'head');
  assert.ok(r1.frozen.has('conv1/conv/kernel') && r1.frozen.has('conv1/bn/moving_mean'));
  assert.ok(!r1.frozen.has('dense/kernel') && !r1.frozen.has('batch_normalization/moving_mean'));

  const s = resolveConfig(config({ rounds: 3, schedule: 'head:1,all:2' }));
  assert.equal(roundTensors(s.schedule, s.spec, 1).trainable, 'head');
  assert.equal(roundTensors(s.schedule, s.spec, 2).trainable, 'all');
  assert.equal(roundTensors(s.schedule, s.spec, 3).frozen.size, 0);

  assert.throws(() => resolveConfig(config({ trainable: 'head', schedule: 'head:1,all:1' })), /Give either trainable \(head\) or schedule \(head:1,all:1\), not both/);
  assert.throws(() => resolveConfig(config({ rounds: 2, schedule: 'head:3,all:7' })), /The schedule head:3,all:7 spells out 10 rounds, but the run has 2/);
  assert.throws(() => resolveConfig(config({ trainable: 'from:conv9_block1_0_bn' })), (e: Error) => e instanceof ConfigError && /Invalid trainable: .*no layer "conv9_block1_0_bn"/.test(e.message));
  assert.throws(() => resolveConfig(config({ trainable: 'backbone' })), /Invalid trainable: Expected trainable to be one of all, head, from:<keras layer name>, but got "backbone"/);
});

test('the strategy sees only the trained tensors; the frozen ones come back from the global model, in its order', () => {
  const t = (name: string, v: number) => ({ name, shape: [1], values: Float32Array.of(v) });
  const global = [t('a', 1), t('b', 2), t('c', 3)];
  const frozen = new Set(['b']);
  const trained = withoutFrozen(global, frozen);
  assert.deepEqual(trained.map((x) => x.name), ['a', 'c']);
  const merged = withFrozen([t('a', 10), t('c', 30)], global, frozen);
  assert.deepEqual(merged.map((x) => [x.name, x.values[0]]), [['a', 10], ['b', 2], ['c', 30]]);
  assert.equal(merged[1], global[1], 'the frozen tensor is the global one, untouched');
  assert.equal(withoutFrozen(global, new Set()), global);
});

test('fit.localLoss: restricted (0.5) by default with a softmax output, ce with sigmoid, sent to the hospitals in every fit; a loss on logits needs a softmax output', () => {
  const instructions = (c: ReturnType<typeof resolveConfig>['config']) =>
    fitInstructions({ config: c, strategy: { fitConfig: () => ({}) }, keepLocal: new Set<string>() } as unknown as FitPhase, 1);
  const byDefault = resolveConfig(config());
  assert.deepEqual(byDefault.config.fit.localLoss, { name: 'restricted', scale: 0.5 }, 'written into the config the run stores');
  assert.deepEqual(instructions(byDefault.config).localLoss, { name: 'restricted', scale: 0.5 });
  const sigmoid = resolveConfig(config({ model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'], output: 'sigmoid' } }));
  assert.deepEqual(instructions(sigmoid.config).localLoss, { name: 'ce' }, 'the default is no reason to refuse a sigmoid run');
  // a config that never went through resolveConfig (no localLoss) gets the same default
  const { localLoss: _dropped, ...bare } = byDefault.config.fit;
  assert.deepEqual(instructions({ ...byDefault.config, fit: bare }).localLoss, { name: 'restricted', scale: 0.5 });
  assert.deepEqual(instructions(resolveConfig(config({ fit: { localEpochs: 1, batchSize: 4, localLoss: { name: 'ce' } } })).config).localLoss, { name: 'ce' });
  const la = resolveConfig(config({ fit: { localLoss: { name: 'logit-adjusted', tau: 0.5 } } }));
  assert.deepEqual(instructions(la.config).localLoss, { name: 'logit-adjusted', tau: 0.5 });
  assert.deepEqual(instructions(resolveConfig(config({ fit: { localLoss: { name: 'restricted' } } })).config).localLoss, { name: 'restricted', scale: 0.5 });
  assert.throws(() => resolveConfig(config({ fit: { localLoss: { name: 'restricted', scale: 1.5 } } })), /Invalid coordinator config: .*fit.localLoss.scale/);
  assert.throws(
    () => resolveConfig(config({ model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'], output: 'sigmoid' }, fit: { localLoss: { name: 'logit-adjusted' } } })),
    (e: Error) => e instanceof ConfigError && /fit.localLoss logit-adjusted changes softmax logits, but model.output is sigmoid/.test(e.message),
  );
});

test('fedavg runs with a server learning rate of 1.5 unless the config names one; other strategies are left as they are', () => {
  const byDefault = resolveConfig(config({ strategy: undefined }));
  assert.equal(DEFAULT_FEDAVG_SERVER_LEARNING_RATE, 1.5);
  assert.equal(byDefault.strategy.name, 'fedavg');
  assert.equal((byDefault.strategy as { serverLearningRate?: number }).serverLearningRate, 1.5, 'the default strategy');
  assert.equal((byDefault.config.strategy as { serverLearningRate?: number }).serverLearningRate, 1.5, 'written into the config the run stores');
  const named = resolveConfig(config({ strategy: { name: 'fedavg' } }));
  assert.equal((named.strategy as { serverLearningRate?: number }).serverLearningRate, 1.5, 'fedavg named without a rate');
  const mcmahan = resolveConfig(config({ strategy: { name: 'fedavg', serverLearningRate: 1 } }));
  assert.equal((mcmahan.strategy as { serverLearningRate?: number }).serverLearningRate, 1, 'an explicit rate wins');
  const momentum = resolveConfig(config({ strategy: { name: 'fedavgm' } }));
  assert.equal((momentum.strategy as { serverLearningRate?: number }).serverLearningRate, 1, "fedavgm keeps its own default (Flower's)");
  const prox = resolveConfig(config({ strategy: { name: 'fedprox' } }));
  assert.equal('serverLearningRate' in prox.strategy, false);
  const median = resolveConfig(config({ strategy: { name: 'fedmedian' } }));
  assert.equal('serverLearningRate' in median.strategy, false, 'a robust strategy gets no server step');
});

test('a fedavg run stored before fedavg had a server learning rate resumes with McMahan’s FedAvg (a start with the new default sees the difference); one stored since keeps its own rate', () => {
  const start = resolveConfig(config({ strategy: undefined })).config;
  const before = { ...start, strategy: { name: 'fedavg', batchNorm: 'average', groupUpdates: 16 } };
  const resumed = resumedConfig(before, start);
  assert.equal((resumed.strategy as { serverLearningRate?: number }).serverLearningRate, 1);
  assert.deepEqual(runDifferences(resumed.config, start), ['strategy.serverLearningRate: 1 → 1.5']);
  const since = resumedConfig(start, start);
  assert.equal((since.strategy as { serverLearningRate?: number }).serverLearningRate, 1.5);
  assert.deepEqual(runDifferences(since.config, start), []);
});

test('a run stored before fit.localLoss existed resumes with cross-entropy, what it trained with; one stored since keeps its own loss', () => {
  const start = resolveConfig(config({ fit: { localEpochs: 1, batchSize: 4 } })).config;
  const { localLoss: _absent, ...fitBefore } = start.fit;
  const resumed = resumedConfig({ ...start, fit: fitBefore }, start);
  assert.deepEqual(resumed.config.fit.localLoss, { name: 'ce' });
  assert.deepEqual(runDifferences(resumed.config, start), ['fit.localLoss.name: "ce" → "restricted"', 'fit.localLoss.scale: (none) → 0.5']);
  assert.deepEqual(resumedConfig(start, start).config.fit.localLoss, { name: 'restricted', scale: 0.5 });
});

test('a run stored with one local epoch, the default before 2026-12-05, is not moved to two silently: a start with the new default sees the difference', () => {
  const start = resolveConfig(config({ fit: { batchSize: 4 } })).config;
  assert.equal(start.fit.localEpochs, 2, 'the default');
  const before = { ...start, fit: { ...start.fit, localEpochs: 1 } };
  const resumed = resumedConfig(before, start);
  assert.equal(resumed.config.fit.localEpochs, 1, 'the stored run keeps what it trained with');
  assert.deepEqual(runDifferences(resumed.config, start), ['fit.localEpochs: 1 → 2']);
});
