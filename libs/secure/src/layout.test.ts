import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SumLayout } from './layout';
import { seededRandom } from './random';
import { refused } from './testing';

test('A layout packs reals and counts into one vector; counts sum exactly', () => {
  const layout = new SumLayout(
    [
      { name: 'lossSum', kind: 'real', length: 1, range: 1e4 },
      { name: 'confusion', kind: 'count', length: 4, max: 1e6 },
      { name: 'bnMean', kind: 'real', length: 3, range: 10 },
    ],
    5,
  );
  assert.equal(layout.length, 8);
  const a = layout.pack({ lossSum: [123.25], confusion: [1, 2, 3, 4], bnMean: [0.5, -2, 9.75] }, seededRandom(1));
  const b = layout.pack({ lossSum: [0.75], confusion: [10, 0, 999_999, 0], bnMean: [1, 1, -0.25] }, seededRandom(2));
  const sum = a.map((v, i) => v + b[i]);
  const out = layout.unpack(sum, 2);
  assert.deepEqual([...out.confusion], [11, 2, 1_000_002, 4]);
  assert.ok(Math.abs(out.lossSum[0] - 124) <= layout.errorBound('lossSum', 2));
  [1.5, -1, 9.5].forEach((v, i) => assert.ok(Math.abs(out.bnMean[i] - v) <= layout.errorBound('bnMean', 2)));
  assert.equal(layout.errorBound('confusion', 2), 0);
  refused(() => layout.pack({ lossSum: [1], confusion: [1, 2, 3], bnMean: [0, 0, 0] }, seededRandom(1)), 'wrong_length', /"confusion": expected 4 values, got 3/);
  refused(() => layout.pack({ lossSum: [1], confusion: [1, 2, 3, 1.5], bnMean: [0, 0, 0] }, seededRandom(1)), 'bad_config', /whole counts in 0\.\.1000000, got 1\.5/);
  refused(() => layout.pack({ lossSum: [1], confusion: [1, 2, 3, 4], bnMean: [0, 0, 0], extra: [1] }, seededRandom(1)), 'bad_config', /Unknown segment\(s\) extra/);
  refused(() => layout.unpack(sum, 6), 'bad_config', /1\.\.5 summands/);
  refused(() => new SumLayout([{ name: 'n', kind: 'count', length: 1, max: 2 ** 31 }], 2), 'bad_config', /expected max ≤ 2147483647/);
  // Sent to hospitals and read back, the layout packs the same way.
  const wire = structuredClone(layout.toWire());
  const again = SumLayout.fromWire(wire);
  assert.deepEqual(again.pack({ lossSum: [123.25], confusion: [1, 2, 3, 4], bnMean: [0.5, -2, 9.75] }, seededRandom(1)), a);
  refused(() => SumLayout.fromWire({ ...wire, maxSummands: 0 }), 'bad_message', /maxSummands/);
  refused(() => SumLayout.fromWire({ ...wire, segments: [{ name: 'x', kind: 'real', length: 1, range: -1 }] }), 'bad_message', /range/);
});
