import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSumLayout, packFitContribution, unpackFitSum } from './fit-sum';
import { seededRandom } from './random';

test('a round through the sum: the example-weighted mean update, loss and accuracy, and the total weight; DP keeps only the update and the indicator', () => {
  const layout = fitSumLayout({ length: 4, range: 1, maxWeight: 50, maxSummands: 3, dp: false });
  const hospitals = [
    { update: [0.1, -0.2, 0.3, 0], examples: 10, loss: 1, accuracy: 0.5 },
    { update: [0.2, 0.2, -0.1, 0.5], examples: 30, loss: 2, accuracy: 0.7 },
    { update: [-0.4, 0, 0, 1], examples: 50, loss: 0.5, accuracy: 0.9 },
  ];
  const sum = new Uint32Array(layout.length);
  hospitals.forEach((h, i) => packFitContribution(layout, h, seededRandom(i)).forEach((w, j) => (sum[j] += w)));
  const out = unpackFitSum(layout, sum, 3);
  assert.equal(out.totalWeight, 90);
  for (let j = 0; j < 4; j++) {
    const exact = hospitals.reduce((s, h) => s + h.update[j] * h.examples, 0) / 90;
    assert.ok(Math.abs(out.update[j] - exact) <= out.errorBound, `value ${j}`);
  }
  assert.ok(Math.abs(out.loss - (10 * 1 + 30 * 2 + 50 * 0.5) / 90) < 1e-7);
  assert.ok(Math.abs(out.accuracy - (10 * 0.5 + 30 * 0.7 + 50 * 0.9) / 90) < 1e-7);

  const dp = fitSumLayout({ length: 2, range: 2, maxWeight: 1, maxSummands: 2, dp: true, indicatorRange: 1 });
  assert.deepEqual(dp.toWire().segments.map((s) => s.name), ['update', 'indicator']);
  const a = packFitContribution(dp, { update: [0.5, -0.5], examples: 99, loss: 3, accuracy: 1, indicator: 0.5 }, seededRandom(1));
  const b = packFitContribution(dp, { update: [0.25, 0.25], examples: 1, loss: 3, accuracy: 1, indicator: -0.5 }, seededRandom(2));
  const d = unpackFitSum(dp, a.map((w, j) => w + b[j]), 2);
  assert.equal(d.totalWeight, null);
  assert.ok(Number.isNaN(d.loss));
  assert.ok(Math.abs(d.update[0] - 0.75) < 1e-8 && Math.abs(d.update[1] + 0.25) < 1e-8);
  assert.ok(Math.abs(d.indicatorSum!) < 1e-8);
});
