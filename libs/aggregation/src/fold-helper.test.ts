import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregationError } from './errors';
import { FoldHelper } from './fold-helper';
import { createWasmKernels } from './kernels';

test('the helper thread reports each call as it is done, and a failed job as a failure', { skip: FoldHelper.create(createWasmKernels(65536)!.memory) ? false : 'needs two cores' }, () => {
  const kx = createWasmKernels(1 << 20)!;
  const helper = FoldHelper.create(kx.memory)!;
  try {
    const f32 = new Float32Array(kx.memory.buffer);
    const pw = 0;
    new Float64Array(kx.memory.buffer, pw, 1)[0] = 2;
    // three tensors of 16 values at 4096, 8192, 12288, each out[i] = 2·x[i] / 4 written 64 KiB further on
    const calls = new Int32Array(12);
    for (let t = 0; t < 3; t++) {
      const px = 4096 * (t + 1);
      for (let i = 0; i < 16; i++) f32[px / 4 + i] = t * 100 + i;
      calls.set([/* acc */ 4 * 65536 + 2 * px, /* x */ px, /* n */ 16, /* out */ 65536 + px], 4 * t);
    }
    const seq = helper.start({ kernel: 'foldSetOut', calls, stride: 0, k: 1, pw, scale: 0.25 });
    for (let t = 0; t < 3; t++) {
      helper.waitFor(seq, t + 1);
      const out = f32.subarray((65536 + 4096 * (t + 1)) / 4, (65536 + 4096 * (t + 1)) / 4 + 16);
      assert.deepEqual(Array.from(out), Array.from({ length: 16 }, (_, i) => (t * 100 + i) / 2), `tensor ${t}`);
    }
    helper.wait(seq);
    // a call out of bounds traps in the helper: the main thread hears of it, whether it waits for a call or for the job
    const bad = helper.start({ kernel: 'foldSetOut', calls: new Int32Array([0, /* x: past the memory */ 2 ** 30, 16, 65536]), stride: 0, k: 1, pw, scale: 1 });
    const refused = (fn: () => void) => assert.throws(fn, (e: unknown) => e instanceof AggregationError && e.code === 'helper_failed' && /failed while folding/.test(e.message));
    refused(() => helper.waitFor(bad, 1));
    refused(() => helper.wait(bad));
  } finally {
    helper.dispose();
  }
});
