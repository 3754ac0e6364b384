// WeightedSum leaves out every input with a NaN or ±Inf value, whichever fold
// finds it: the kernels report sums that are not finite as they fold, and a
// group folded into the accumulator in place is scanned first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { weightedMean } from './aggregate';
import { AggregationError } from './errors';
import { wasmKernelsAvailable } from './kernels';
import { WeightedSum, type WeightedSumOptions } from './weighted-sum';

const SIZES = [100_003, 7, 3 * 32768 + 5];
const COUNT = 7;
// input → [tensor, index, value]: in the middle of a chunk, in a 7-value tensor, the last value of all
const BAD: Record<number, [number, number, number]> = { 1: [0, 40_000, Number.NaN], 4: [1, 6, Number.POSITIVE_INFINITY], 6: [2, 3 * 32768 + 4, Number.NEGATIVE_INFINITY] };

function input(k: number): Float32Array[] {
  return SIZES.map((n, s) => Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11 + 0.9 * k + s) * (2 + s)));
}

function withBad(k: number): Float32Array[] {
  const x = input(k);
  const bad = BAD[k];
  if (bad) x[bad[0]][bad[1]] = bad[2];
  return x;
}

const engines: { name: string; options: WeightedSumOptions; intake: boolean; skip?: string | false }[] = [
  { name: 'wasm, intake, helper thread', options: { helper: true }, intake: true },
  { name: 'wasm, intake, one thread', options: { helper: false }, intake: true },
  { name: 'wasm, held arrays', options: {}, intake: false },
  { name: 'js', options: { backend: 'js' }, intake: false },
];

for (const e of engines) {
  const skip = e.name.startsWith('wasm') && !wasmKernelsAvailable() ? 'wasm SIMD unavailable' : false;
  test(`inputs with NaN or ±Inf are left out and named, in every kind of fold (${e.name})`, { skip }, () => {
    // group 1: set, then in place (scanned first), then into the mean; 3: a bad input in the first group,
    // the in-place one and the last; 16: one fold straight into the mean
    for (const group of [1, 3, 16]) {
      const sum = new WeightedSum(SIZES, { ...e.options, group });
      const reference = new WeightedSum(SIZES, { backend: 'js', group: 1 });
      try {
        for (let round = 0; round < 2; round++) {
          const bad = round === 0 ? withBad : input; // the second round is clean: nothing left over
          for (let k = 0; k < COUNT; k++) {
            const x = bad(k);
            const slots = e.intake ? sum.intake() : null;
            if (slots) slots.forEach((t, s) => t.set(x[s]));
            sum.add(slots ?? x, 1 + k, 100 + k);
            if (round === 1 || !BAD[k]) reference.add(x, 1 + k);
          }
          const want = reference.mean();
          const { mean, refused } = sum.result();
          assert.deepEqual(
            refused.map((r) => [r.id, r.tensor, r.index, r.value]).sort((a, b) => a[0] - b[0]),
            round === 0 ? Object.entries(BAD).map(([k, b]) => [100 + Number(k), ...b]) : [],
            `group ${group}, round ${round}`,
          );
          for (let s = 0; s < SIZES.length; s++) {
            for (let i = 0; i < SIZES[s]; i++) {
              if (!(Math.abs(mean![s][i] - want[s][i]) <= 1e-6 * (1 + Math.abs(want[s][i])))) {
                assert.fail(`group ${group}, round ${round}: tensor ${s}[${i}] ${mean![s][i]} ≠ ${want[s][i]}`);
              }
            }
          }
        }
      } finally {
        sum.dispose();
      }
    }
  });

  test(`when every input is refused there is no mean, and the sum starts over cleanly (${e.name})`, { skip }, () => {
    const sum = new WeightedSum(SIZES, { ...e.options, group: 2 });
    try {
      for (const k of [1, 4, 6]) {
        const x = withBad(k);
        const slots = e.intake ? sum.intake() : null;
        if (slots) slots.forEach((t, s) => t.set(x[s]));
        sum.add(slots ?? x, 3);
      }
      const { mean, refused } = sum.result();
      assert.equal(mean, null);
      assert.deepEqual(
        refused.map((r) => r.id).sort(),
        [0, 1, 2],
      );
      sum.add(input(0), 2);
      assert.equal(sum.mean()[1][3], input(0)[1][3]);
    } finally {
      sum.dispose();
    }
  });
}

test('mean() and weightedMean refuse a NaN or ±Inf input, naming it', () => {
  const sum = new WeightedSum(SIZES, { group: 4 });
  sum.add(input(0), 1);
  sum.add(withBad(4), 1);
  assert.throws(
    () => sum.mean(),
    (err: unknown) => err instanceof AggregationError && err.code === 'not_finite' && /input 1 has Infinity at tensor 1\[6\]/.test(err.message),
  );
  assert.throws(
    () => weightedMean([input(0), withBad(1), input(2)], [1, 2, 3]),
    (err: unknown) => err instanceof AggregationError && err.code === 'not_finite' && /input 1 has NaN at tensor 0\[40000\]/.test(err.message),
  );
});

test('weights are positive, finite and at most 1e30, so that only a value that is not finite makes a sum that is not', () => {
  const sum = new WeightedSum([16]);
  for (const w of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1e31]) {
    assert.throws(
      () => sum.add([new Float32Array(16)], w),
      (err: unknown) => err instanceof AggregationError && err.code === 'bad_update',
    );
  }
  // the largest weight on the largest float32 values stays finite
  sum.add([new Float32Array(16).fill(3.4e38)], 1e30);
  sum.add([new Float32Array(16).fill(-3.4e38)], 1e30);
  assert.deepEqual(Array.from(sum.mean()[0]), new Array(16).fill(0));
});

test('only groups folded in place are scanned first: none in a round of up to twice the group', { skip: wasmKernelsAvailable() ? false : 'wasm SIMD unavailable' }, () => {
  const sizes = [4096, 16];
  const sum = new WeightedSum(sizes, { group: 4, helper: false });
  const kernels = (sum as unknown as { kernels: { scan: (p: number, n: number) => number } }).kernels;
  const scan = kernels.scan;
  let scans = 0;
  kernels.scan = (p, n) => {
    scans++;
    return scan(p, n);
  };
  for (const [count, scanned] of [
    [8, 0],
    [9, 4], // the second group of four is folded in place when the ninth arrives
    [13, 8],
  ]) {
    scans = 0;
    for (let k = 0; k < count; k++) {
      const slots = sum.intake()!;
      slots.forEach((t, s) => t.fill(k + s));
      sum.add(slots, 1);
    }
    sum.mean();
    assert.equal(scans, scanned, `${count} inputs in groups of 4`);
  }
});
