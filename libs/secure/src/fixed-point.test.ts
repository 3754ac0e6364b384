import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixedPoint } from './fixed-point';
import { seededRandom } from './random';
import { refused, rng } from './testing';

test('The scale leaves headroom for maxSummands values at the clip, and no more', () => {
  const fp = new FixedPoint({ range: 2, maxSummands: 7 });
  assert.equal(fp.levels, Math.floor((2 ** 31 - 1) / 7));
  assert.equal(fp.quantum, 2 / fp.levels);
  // Seven hospitals all at +R (or beyond, clipped), or all at −R: the sum is ±7M, inside int32, and decodes to ±14 exactly.
  for (const v of [2, -2, 1e9]) {
    const sum = new Uint32Array(1);
    const one = new Uint32Array(1);
    for (let i = 0; i < 7; i++) {
      fp.encode([v], one, 0, seededRandom(i));
      sum[0] += one[0];
    }
    assert.equal(fp.decode(sum, 0, 1)[0], 7 * Math.min(v, 2));
  }
  // The examples in FixedPoint's documentation: R = 1 with N = 1000, and with N = 10.
  assert.equal(new FixedPoint({ range: 1, maxSummands: 1000 }).quantum.toPrecision(3), '4.66e-7');
  assert.equal(new FixedPoint({ range: 1, maxSummands: 10 }).quantum.toPrecision(3), '4.66e-9');
  // An eighth summand at +R would wrap: 8M > 2³¹ − 1.
  assert.ok(8 * fp.levels > 2 ** 31 - 1);
  refused(() => fp.checkSummands(8), 'bad_config', /1\.\.7 summands/);
});

test('Values are clipped to the range; NaN and infinities are refused', () => {
  const fp = new FixedPoint({ range: 1, maxSummands: 10 });
  const out = new Uint32Array(3);
  assert.equal(fp.encode([5, -3, 0.5], out, 0, seededRandom(1)), 2);
  assert.deepEqual([...fp.decode(out, 0, 3)].map((v) => Math.round(v * 1e6) / 1e6), [1, -1, 0.5]);
  refused(() => fp.encode([0, NaN], out, 0, seededRandom(1)), 'not_finite', /got NaN at 1/);
  refused(() => fp.encode([Infinity], out, 0, seededRandom(1)), 'not_finite');
  refused(() => fp.encode([-Infinity], out, 0, seededRandom(1)), 'not_finite');
  refused(() => fp.encode([1, 2, 3], out, 1, seededRandom(1)), 'wrong_length');
  refused(() => new FixedPoint({ range: 0, maxSummands: 1 }), 'bad_config', /range > 0/);
  refused(() => new FixedPoint({ range: 1, maxSummands: 0 }), 'bad_config', /maxSummands/);
});

test('Stochastic rounding is within one step and unbiased', () => {
  // A coarse grid (a step of 0.1) makes the rounding visible.
  const fp = new FixedPoint({ range: 0.1 * Math.floor(2 ** 31 - 1), maxSummands: 1 });
  const step = fp.quantum;
  assert.ok(Math.abs(step - 0.1) < 1e-12);
  const n = 20_000;
  const value = 0.537; // 5.37 steps: rounds to 5 or 6 steps, 6 with probability 0.37
  const out = new Uint32Array(n);
  fp.encode(new Float64Array(n).fill(value), out, 0, seededRandom('rounding'));
  const decoded = fp.decode(out, 0, n);
  let ups = 0;
  for (const d of decoded) {
    assert.ok(Math.abs(d - value) < step, `${d}`);
    if (d > value) ups++;
  }
  // Binomial(20000, 0.37): standard deviation 68; 5σ either side.
  assert.ok(Math.abs(ups - 0.37 * n) < 5 * 68, `${ups} of ${n} rounded up`);
  const mean = decoded.reduce((s, d) => s + d, 0) / n;
  assert.ok(Math.abs(mean - value) < (5 * step * Math.sqrt(0.37 * 0.63)) / Math.sqrt(n), `mean ${mean}`);
});

test('A sum of n encoded values is within n steps of the exact sum of the clipped values', () => {
  const fp = new FixedPoint({ range: 0.5, maxSummands: 50 });
  const next = rng(3);
  const length = 2000;
  const sum = new Uint32Array(length);
  const exact = new Float64Array(length);
  const one = new Uint32Array(length);
  for (let h = 0; h < 50; h++) {
    const values = Float32Array.from({ length }, () => (next() - 0.5) * 1.2); // some beyond ±0.5
    fp.encode(values, one, 0, seededRandom(`h${h}`));
    for (let i = 0; i < length; i++) {
      sum[i] += one[i];
      exact[i] += Math.max(-0.5, Math.min(0.5, values[i]));
    }
  }
  const decoded = fp.decode(sum, 0, length);
  const bound = fp.sumErrorBound(50);
  assert.equal(bound, 50 * fp.quantum);
  let worst = 0;
  for (let i = 0; i < length; i++) worst = Math.max(worst, Math.abs(decoded[i] - exact[i]));
  assert.ok(worst < bound, `worst ${worst} vs bound ${bound}`);
});
