import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32, mulberry32Bits, withSeededRandom } from './random';

test('mulberry32: same seed, same sequence; another seed, another; uniform in [0, 1)', () => {
  const take = (r: () => number, n: number) => Array.from({ length: n }, r);
  assert.deepEqual(take(mulberry32(7), 20), take(mulberry32(7), 20));
  assert.notDeepEqual(take(mulberry32(7), 20), take(mulberry32(8), 20));
  const xs = take(mulberry32(1), 20_000);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  // the [0, 1) stream is the 32-bit stream over 2³²
  const bits = mulberry32Bits(99);
  const unit = mulberry32(99);
  for (let i = 0; i < 10; i++) assert.equal(unit(), bits() / 2 ** 32);
});

test('withSeededRandom: Math.random repeats inside, and is restored after, also when fn throws', async () => {
  const original = Math.random;
  const draw = async () => Array.from({ length: 5 }, () => Math.random());
  const a = await withSeededRandom(3, draw);
  const b = await withSeededRandom(3, draw);
  const c = await withSeededRandom(4, draw);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(Math.random, original);
  await assert.rejects(
    withSeededRandom(3, async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(Math.random, original);
});
