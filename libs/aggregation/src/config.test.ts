import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STRATEGY_NAMES, createStrategy, parseStrategyConfig } from './config';
import { AggregationError } from './errors';

test('every strategy name parses with defaults and builds the strategy it names', () => {
  for (const name of STRATEGY_NAMES) {
    const c = parseStrategyConfig({ name });
    assert.equal(c.batchNorm, 'average');
    const s = createStrategy(c);
    assert.equal(s.name, name);
    assert.equal(s.streaming, !['fedmedian', 'fedtrimmedavg', 'krum', 'multikrum'].includes(name));
  }
});

test('an unknown name is refused with the valid ones listed', () => {
  assert.throws(
    () => parseStrategyConfig({ name: 'fedsgd' }),
    (e: unknown) => e instanceof AggregationError && e.code === 'bad_config' && /one of fedavg, fedprox, .*multikrum, but got "fedsgd"/.test(e.message),
  );
});

test('a bad parameter is refused naming the field', () => {
  assert.throws(() => parseStrategyConfig({ name: 'fedtrimmedavg', beta: 0.5 }), /Bad fedtrimmedavg config at beta/);
  assert.throws(() => parseStrategyConfig({ name: 'fedadam', eta: -1 }), /Bad fedadam config at eta/);
  assert.throws(() => parseStrategyConfig({ name: 'fedavg', groupUpdates: 0 }), /at groupUpdates/);
  assert.throws(() => parseStrategyConfig({ name: 'fedavg', batchNorm: 'sometimes' }), /at batchNorm/);
});
