import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInMemory } from './harness';
import { seededRandom } from './random';
import { refused, rng } from './testing';
import { packWeightedUpdate, unpackWeightedMean, weightedUpdateLayout } from './weighted';

/** A realistic update: small Gaussian-like weight changes, a few large ones, one layer that barely moved. */
function update(seed: number, length: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length }, (_, i) => {
    const g = (next() + next() + next() + next() - 2) * 1.7e-3; // ≈ N(0, 1e-3²)
    if (i % 997 === 0) return g * 300; // outliers up to ~±1
    return i < 500 ? g * 1e-4 : g;
  });
}

test('FedAvg through a secure sum is within the documented bound of the float64 weighted mean', () => {
  const length = 20_000;
  const examples = [120, 7, 1000, 33, 400];
  const updates = examples.map((_, i) => update(i + 1, length));
  const layout = weightedUpdateLayout({ length, range: 1, maxWeight: 1000, maxSummands: 10 });
  const participants = [1, 2, 3, 4, 5];
  const run = runInMemory({
    config: { session: 'fedavg', participants, threshold: 3, graph: { kind: 'full' }, vectorLength: layout.length },
    input: (p) => packWeightedUpdate(layout, updates[p - 1], examples[p - 1], seededRandom(`round ${p}`)),
    drops: new Map([[4, 'mask']]), // hospital 4 drops after sharing its keys
  });
  assert.deepEqual(run.result.survivors, [1, 2, 3, 5]);
  const { mean, totalWeight, errorBound } = unpackWeightedMean(layout, run.result.sum, run.result.survivors.length);

  // The reference: plain FedAvg of the survivors' float32 updates, in float64.
  const used = [0, 1, 2, 4];
  const total = used.reduce((s, i) => s + examples[i], 0);
  assert.equal(totalWeight, total);
  const codec = layout.codec('update');
  // The documented bound: n·W/(s·Σw) per value, with n = 4 summands, W = 1000, Σw = 1527.
  assert.equal(errorBound, (4 * 1000) / (codec.scale * total));
  let worst = 0;
  for (let k = 0; k < length; k++) {
    let ref = 0;
    for (const i of used) ref += examples[i] * Math.max(-1, Math.min(1, updates[i][k]));
    worst = Math.max(worst, Math.abs(mean[k] - ref / total));
  }
  assert.ok(worst < errorBound, `worst ${worst} vs bound ${errorBound}`);
  assert.ok(errorBound < 3e-8, `the bound is useful: ${errorBound}`);
});

test('Weights must be whole numbers within the cap, and a zero total has no mean', () => {
  const layout = weightedUpdateLayout({ length: 3, range: 1, maxWeight: 100, maxSummands: 4 });
  refused(() => packWeightedUpdate(layout, [0, 0, 0], 101, seededRandom(1)), 'bad_config', /whole weight in 0\.\.100, got 101/);
  refused(() => packWeightedUpdate(layout, [0, 0, 0], 2.5, seededRandom(1)), 'bad_config');
  refused(() => packWeightedUpdate(layout, [0, 0], 2, seededRandom(1)), 'wrong_length', /update of 3 values, got 2/);
  refused(() => unpackWeightedMean(layout, packWeightedUpdate(layout, [0.1, 0, 0], 0, seededRandom(1)), 1), 'bad_config', /summed weight is 0/);
  refused(() => weightedUpdateLayout({ length: 3, range: 1, maxWeight: 2 ** 30, maxSummands: 4 }), 'bad_config', /could exceed 2³² − 1/);
});
