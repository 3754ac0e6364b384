import { test } from 'node:test';
import assert from 'node:assert/strict';
import { L9 } from './l9';
import { parseTuneDesign } from './config';
import { planTrials, applySettings } from './tuner';

test('L9 has 9 trials of 4 factors at levels 0, 1, 2', () => {
  assert.equal(L9.length, 9);
  for (const row of L9) {
    assert.equal(row.length, 4);
    for (const l of row) assert.ok([0, 1, 2].includes(l));
  }
});

test('L9 is orthogonal: every pair of columns holds each of the 9 level pairs exactly once', () => {
  for (let a = 0; a < 4; a++) {
    for (let b = a + 1; b < 4; b++) {
      const pairs = L9.map((r) => `${r[a]}${r[b]}`).sort();
      assert.deepEqual(pairs, ['00', '01', '02', '10', '11', '12', '20', '21', '22'], `columns ${a + 1} and ${b + 1}`);
    }
  }
});

test('the trials of the default design are the study’s levels placed by the array', () => {
  const plans = planTrials(parseTuneDesign({}));
  assert.equal(plans.length, 9);
  assert.deepEqual(plans[0].settings, { optimizer: 'adam', learningRate: 0.001, dropout: 0.3, activation: 'relu' });
  // row 4 is [1, 0, 1, 2]
  assert.deepEqual(plans[3].settings, { optimizer: 'sgd', learningRate: 0.001, dropout: 0.4, activation: 'sigmoid' });
  // row 9 is [2, 2, 1, 0]
  assert.deepEqual(plans[8].settings, { optimizer: 'adagrad', learningRate: 0.005, dropout: 0.4, activation: 'relu' });
});

test('custom levels replace the defaults; bad designs are refused with their path', () => {
  const d = parseTuneDesign({ factors: { dropout: [0.1, 0.2, 0.6] } });
  assert.deepEqual(d.factors.dropout, [0.1, 0.2, 0.6]);
  assert.deepEqual(d.factors.optimizer, ['adam', 'sgd', 'adagrad']);
  assert.throws(() => parseTuneDesign({ factors: { dropout: [0.1, 0.2] } }), /factors\.dropout: dropout: expected exactly 3 levels/);
  assert.throws(() => parseTuneDesign({ factors: { optimizer: ['adam', 'adam', 'sgd'] } }), /must all differ/);
  assert.throws(() => parseTuneDesign({ factors: { optimizer: ['adam', 'rmsprop', 'sgd'] } }), /factors\.optimizer\.1/);
  assert.throws(() => parseTuneDesign({ design: 'l18' }), /design/);
  assert.throws(() => parseTuneDesign({ factors: { momentum: [1, 2, 3] } }), /momentum/);
});

test('a trial’s levels go into the model spec, other head and optimizer fields are kept', () => {
  const spec = applySettings({ arch: 'densenet-tiny', head: { units: 64, dropout: 0.9 }, optimizer: { name: 'sgd' } }, { optimizer: 'adagrad', learningRate: 0.005, dropout: 0.4, activation: 'tanh' });
  assert.deepEqual(spec, { arch: 'densenet-tiny', head: { units: 64, dropout: 0.4, activation: 'tanh' }, optimizer: { name: 'adagrad', learningRate: 0.005 } });
});
