import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { STRATEGY_NAMES, StrategyConfigSchema, createStrategy, parseStrategyConfig, strategyHelp, strategyInfo } from './config';
import { AggregationError } from './errors';
import { HoldingStrategy, type HeldUpdate } from './holding';
import { createRegistry, defineStrategy } from './registry';
import { STRATEGIES } from './strategies';
import { model } from './testing';

const ROBUST = ['fedmedian', 'fedtrimmedavg', 'krum', 'multikrum'];
const WEIGHTED_MEAN = ['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'];

function refusedConfig(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AggregationError && e.code === 'bad_config' && pattern.test(e.message));
}

test('every strategy name parses with defaults and builds the strategy it names, with the traits it declares', () => {
  for (const name of STRATEGY_NAMES) {
    const c = parseStrategyConfig({ name });
    assert.equal(c.batchNorm, 'average');
    const s = createStrategy(c);
    assert.equal(s.name, name);
    assert.equal(s.streaming, !ROBUST.includes(name));
    const info = strategyInfo(name);
    assert.equal(info.needsIndividualUpdates, ROBUST.includes(name), name);
    assert.equal(info.robust, ROBUST.includes(name), name);
    assert.equal(info.weightedMean, WEIGHTED_MEAN.includes(name), name);
    assert.equal(info.weighted, WEIGHTED_MEAN.includes(name) || name === 'multikrum', name);
    assert.deepEqual(info.defaults, c);
  }
});

test('an unknown name is refused with the valid ones listed', () => {
  refusedConfig(() => parseStrategyConfig({ name: 'fedsgd' }), /one of fedavg, fedprox, .*multikrum, but got "fedsgd"/);
  refusedConfig(() => strategyInfo('fedsgd'), /one of fedavg, .*multikrum, but got "fedsgd"/);
});

test('a bad parameter is refused naming the field', () => {
  assert.throws(() => parseStrategyConfig({ name: 'fedtrimmedavg', beta: 0.5 }), /Bad fedtrimmedavg config at beta/);
  assert.throws(() => parseStrategyConfig({ name: 'fedadam', eta: -1 }), /Bad fedadam config at eta/);
  assert.throws(() => parseStrategyConfig({ name: 'fedavg', groupUpdates: 0 }), /at groupUpdates/);
  assert.throws(() => parseStrategyConfig({ name: 'fedavg', batchNorm: 'sometimes' }), /at batchNorm/);
});

test('an unknown key is refused with the valid keys listed, by the parser and by the schema itself', () => {
  refusedConfig(() => parseStrategyConfig({ name: 'fedavg', proximalMu: 0.1 }), /Bad fedavg config at \(root\): .*proximalMu.*\(valid: name, batchNorm, maxWeight, groupUpdates, serverLearningRate\)/);
  assert.equal(StrategyConfigSchema.safeParse({ name: 'krum', keep: 2 }).success, false);
});

test('maxWeight is taken by every weighted strategy and refused for the others, naming the weighted ones', () => {
  for (const name of STRATEGY_NAMES) {
    if (strategyInfo(name).weighted) {
      assert.equal(parseStrategyConfig({ name, maxWeight: 0.5 }).maxWeight, 0.5);
      assert.equal(parseStrategyConfig({ name }).maxWeight, undefined, 'off by default');
    } else {
      refusedConfig(
        () => parseStrategyConfig({ name, maxWeight: 0.5 }),
        new RegExp(`at maxWeight: .*${name} does not weight updates.*\\(weighted strategies: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, multikrum\\)`),
      );
      assert.equal(StrategyConfigSchema.safeParse({ name, maxWeight: 0.5 }).success, false);
    }
  }
  for (const bad of [0, -0.1, 1.5, Number.NaN]) refusedConfig(() => parseStrategyConfig({ name: 'fedavg', maxWeight: bad }), /at maxWeight/);
});

test('the help text has one line per strategy, in registration order', () => {
  const lines = strategyHelp().split('\n');
  assert.deepEqual(
    lines.map((l) => l.slice(0, l.indexOf(':'))),
    [...STRATEGY_NAMES],
  );
  assert.match(lines[0], /^fedavg: example-weighted mean/);
});

// A strategy in a file of its own, as a contributor would add it: the last update to arrive wins.
class LastUpdate extends HoldingStrategy {
  readonly name = 'fedlast';
  constructor(readonly scale: number) {
    super();
  }
  protected combine(held: HeldUpdate[]) {
    const last = held[held.length - 1];
    return { slots: last.slots.map((t) => t.map((x) => x * this.scale)), used: [last.id] };
  }
}
const fedlastStrategy = defineStrategy({
  name: 'fedlast',
  description: 'the last update to arrive, scaled (a test strategy)',
  params: { scale: z.number().positive().default(2) },
  needsIndividualUpdates: true,
  weightedMean: false,
  robust: false,
  create: (config) => new LastUpdate(config.scale),
});

test('registering one more strategy makes it parseable, creatable, listed and described, with nothing else edited', () => {
  const registry = createRegistry([...STRATEGIES, fedlastStrategy]);
  assert.deepEqual(registry.names, [...STRATEGY_NAMES, 'fedlast']);
  const config = registry.parse({ name: 'fedlast' });
  assert.deepEqual(config, { name: 'fedlast', batchNorm: 'average', scale: 2 });
  assert.equal(registry.schema.safeParse({ name: 'fedlast', scale: 3 }).success, true);
  refusedConfig(() => registry.parse({ name: 'fedlast', scale: -1 }), /Bad fedlast config at scale/);
  refusedConfig(() => registry.parse({ name: 'fedlast', maxWeight: 0.5 }), /fedlast does not weight updates/);
  refusedConfig(() => registry.parse({ name: 'fedlasts' }), /one of fedavg, .*multikrum, fedlast, but got "fedlasts"/);
  assert.deepEqual(registry.info('fedlast'), {
    name: 'fedlast',
    description: 'the last update to arrive, scaled (a test strategy)',
    needsIndividualUpdates: true,
    weightedMean: false,
    weighted: false,
    robust: false,
    defaults: { name: 'fedlast', batchNorm: 'average', scale: 2 },
  });
  assert.match(registry.help(), /\nfedlast: the last update to arrive, scaled \(a test strategy\)$/);
  // and it runs
  const s = registry.create(registry.parse({ name: 'fedlast', scale: 3 }));
  s.begin(1, model(1));
  s.accumulate({ hospitalId: 'a', examples: 1, weights: model(2) });
  s.accumulate({ hospitalId: 'b', examples: 1, weights: model(3) });
  const r = s.finish();
  assert.deepEqual(r.used, ['b']);
  assert.equal(r.weights[6].values[5], Math.fround(model(3)[6].values[5] * 3));
  // the library's own strategies are unchanged by it
  assert.throws(() => parseStrategyConfig({ name: 'fedlast' }), /but got "fedlast"/);
});

test('a name registered twice is refused', () => {
  refusedConfig(() => createRegistry([...STRATEGIES, fedlastStrategy, fedlastStrategy]), /fedlast is registered twice/);
});

test('every strategy file in src is registered, and the public config functions are the registry of exactly those', () => {
  const here = new URL('.', import.meta.url);
  const defining = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'registry.ts')
    .filter((f) => /=\s*defineStrategy\(/.test(readFileSync(new URL(f, here), 'utf8')));
  const registry = readFileSync(new URL('strategies.ts', here), 'utf8');
  for (const f of defining) assert.match(registry, new RegExp(`from '\\./${f.replace(/\.ts$/, '')}'`), `${f} defines a strategy that strategies.ts does not register`);
  assert.equal(defining.length, STRATEGIES.length);
  assert.deepEqual(
    STRATEGIES.map((d) => d.name),
    [...STRATEGY_NAMES],
  );
});
