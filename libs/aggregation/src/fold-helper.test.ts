import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationError } from './errors';
import { claim } from './fold-claim.js';
import { FoldHelper, MAX_ITEMS } from './fold-helper';
import { createWasmKernels } from './kernels';

const twoCores = FoldHelper.create(createWasmKernels(65536)!.memory, 1) !== null;

/** Items of 16 values at x = 4096·(i + 1), out[i] = 2·x / 4 written 64 KiB further on, as the helper calls them. */
function setUp(items: number) {
  const kx = createWasmKernels(1 << 20)!;
  const f32 = new Float32Array(kx.memory.buffer);
  new Float64Array(kx.memory.buffer, 0, 1)[0] = 2;
  const calls = new Int32Array(4 * items);
  for (let i = 0; i < items; i++) {
    const px = 4096 * (i + 1);
    for (let v = 0; v < 16; v++) f32[px / 4 + v] = i * 100 + v;
    calls.set([/* acc */ 4 * 65536 + 2 * px, /* x */ px, /* n */ 16, /* out */ 65536 + px], 4 * i);
  }
  const outOf = (i: number) => Array.from(f32.subarray((65536 + 4096 * (i + 1)) / 4, (65536 + 4096 * (i + 1)) / 4 + 16));
  const want = (i: number) => Array.from({ length: 16 }, (_, v) => (i * 100 + v) / 2);
  return { kx, f32, calls, outOf, want };
}

const job = (calls: Int32Array) => ({ kernel: 'foldSetOut' as const, calls, stride: 0, k: 1, pw: 0, scale: 0.25 });

test('claim takes from the front or the end of a range packed in one word, up to MAX_ITEMS', () => {
  const c = new Int32Array(1);
  c[0] = 3 | (6 << 16);
  assert.deepEqual([claim(c, 0, true), claim(c, 0, false), claim(c, 0, true), claim(c, 0, false), claim(c, 0, true)], [3, 5, 4, -1, -1]);
  c[0] = (MAX_ITEMS - 2) | (MAX_ITEMS << 16);
  assert.deepEqual([claim(c, 0, false), claim(c, 0, false), claim(c, 0, true)], [MAX_ITEMS - 1, MAX_ITEMS - 2, -1]);
});

test('the helper thread and the main thread share a fold item by item, each item done once', { skip: twoCores ? false : 'needs two cores' }, () => {
  const { kx, f32, calls, outOf, want } = setUp(12);
  const helper = FoldHelper.create(kx.memory, 12)!;
  try {
    // the main thread's range empty, half the items, all of them
    for (const [round, split] of [0, 6, 12, 6].entries()) {
      f32.fill(NaN, (65536 + 4096) / 4, (65536 + 4096 * 13) / 4);
      const seq = helper.start(job(calls), split);
      const mine: number[] = [];
      // the main thread runs what it takes exactly as the helper would
      for (let i = helper.take(); i >= 0; i = helper.take()) {
        mine.push(i);
        kx.foldSetOut(calls[4 * i], calls[4 * i + 1], 0, 1, 16, 0, 0.25, calls[4 * i + 3]);
      }
      assert.equal(helper.take(), -1);
      for (let i = 0; i < 12; i++) if (!mine.includes(i)) helper.waitItem(seq, i);
      for (let i = 0; i < 12; i++) assert.deepEqual(outOf(i), want(i), `round ${round} (split ${split}), item ${i}`);
      assert.equal(new Set(mine).size, mine.length, 'no item taken twice by the main thread');
    }
  } finally {
    helper.dispose();
  }
});

test('items the main thread leaves, even in its own range, are all done by the helper', { skip: twoCores ? false : 'needs two cores' }, () => {
  const { kx, calls, outOf, want } = setUp(3);
  const helper = FoldHelper.create(kx.memory, 3)!;
  try {
    const seq = helper.start(job(calls), 2);
    for (let i = 0; i < 3; i++) {
      helper.waitItem(seq, i);
      assert.deepEqual(outOf(i), want(i), `item ${i}`);
    }
  } finally {
    helper.dispose();
  }
});

test('a failed helper job is reported to the main thread, and the next job runs', { skip: twoCores ? false : 'needs two cores' }, () => {
  const { kx, calls, outOf, want } = setUp(2);
  const helper = FoldHelper.create(kx.memory, 2)!;
  try {
    // an item past the memory traps in the helper
    const bad = helper.start(job(new Int32Array([0, /* x: past the memory */ 2 ** 30, 16, 65536])), 0);
    assert.throws(
      () => helper.waitItem(bad, 0),
      (e: unknown) => e instanceof AggregationError && e.code === 'helper_failed' && /failed while folding/.test(e.message),
    );
    const seq = helper.start(job(calls), 0);
    for (let i = 0; i < 2; i++) helper.waitItem(seq, i);
    assert.deepEqual([outOf(0), outOf(1)], [want(0), want(1)]);
    assert.throws(() => helper.start(job(new Int32Array(4 * 3)), 0), /exceeds/);
  } finally {
    helper.dispose();
  }
});
