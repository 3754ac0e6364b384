import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RdpAccountant } from '@fedxray/secure';
import { ConfigError, resolveConfig } from './run-config';

const base = { dataDir: '/tmp/fedxray-privacy-config', model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'] } };

test('secure aggregation refuses robust strategies, naming the strategies that work', () => {
  for (const name of ['fedmedian', 'fedtrimmedavg', 'krum']) {
    assert.throws(
      () => resolveConfig({ ...base, strategy: { name }, secureAggregation: { enabled: true } }),
      (e: Error) => e instanceof ConfigError && new RegExp(`strategy ${name} \\(which needs each hospital's update\\) cannot run; use fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad`).test(e.message),
    );
  }
  for (const name of ['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad']) {
    assert.equal(resolveConfig({ ...base, strategy: { name }, secureAggregation: { enabled: true } }).config.secureAggregation.enabled, true);
  }
});

test('DP alone refuses robust strategies too; cross-site evaluation is refused with secure aggregation only', () => {
  assert.throws(() => resolveConfig({ ...base, strategy: { name: 'krum' }, dp: { noiseMultiplier: 1, clip: 1 } }), /differential privacy \(--dp-\*\) sums the updates, so strategy krum/);
  assert.throws(() => resolveConfig({ ...base, crossSiteEvaluation: true, secureAggregation: { enabled: true } }), /cross-site evaluation \(--cross-site\) is refused/);
  assert.equal(resolveConfig({ ...base, crossSiteEvaluation: true, dp: { noiseMultiplier: 1, clip: 1 } }).config.dp?.delta, 1e-5, 'δ defaults to 1e-5');
});

test('frozen layers (--trainable, --schedule) are refused with secure aggregation and with DP: the sum covers whole-model updates', () => {
  assert.throws(() => resolveConfig({ ...base, trainable: 'head', secureAggregation: { enabled: true } }), /secure aggregation \(--secure-aggregation\) sums whole-model updates, so --trainable and --schedule/);
  assert.throws(() => resolveConfig({ ...base, schedule: 'head:1,all:1', dp: { noiseMultiplier: 1, clip: 1 } }), /differential privacy \(--dp-\*\) sums whole-model updates/);
  assert.equal(resolveConfig({ ...base, trainable: 'head' }).config.trainable, 'head', 'without them, frozen layers are fine');
});

test('an ε budget that the configured rounds would exceed is refused at start-up, saying how many rounds fit', () => {
  const acc = new RdpAccountant();
  let fit = 0;
  while (!acc.wouldExceed(5, 1e-5, 1, 1).exceeds) {
    acc.step(1, 1);
    fit++;
  }
  assert.ok(fit >= 1 && fit < 20);
  assert.throws(() => resolveConfig({ ...base, rounds: 20, dp: { noiseMultiplier: 1, clip: 1, epsilonBudget: 5 } }), new RegExp(`above the budget 5: at most ${fit} rounds fit`));
  assert.doesNotThrow(() => resolveConfig({ ...base, rounds: fit, dp: { noiseMultiplier: 1, clip: 1, epsilonBudget: 5 } }));
  assert.throws(() => resolveConfig({ ...base, dp: { noiseMultiplier: 0, clip: 1, epsilonBudget: 5 } }), /needs noise/);
});
