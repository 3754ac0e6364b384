import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { NamedWeights } from '@fedxray/protocol';
import { createStrategy, parseStrategyConfig } from './config';

const SIZES = [400_000, 600_000, 3, 1]; // 1,000,004 values
const MODEL_BYTES = SIZES.reduce((a, b) => a + b, 0) * 4;
const UPDATES = 200;

function gcFunction(): (() => void) | undefined {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** One update, made when asked and dropped by the caller right after use. */
function makeUpdate(k: number): NamedWeights {
  return SIZES.map((n, s) => {
    const values = new Float32Array(n);
    values.fill((k % 7) / 7 + s);
    return { name: `t${s}`, shape: [n], values };
  });
}

for (const groupUpdates of [1, 4]) {
  test(`FedAvg (groupUpdates ${groupUpdates}) keeps O(model) memory over ${UPDATES} updates`, () => {
    const gc = gcFunction();
    const s = createStrategy(parseStrategyConfig({ name: 'fedavg', groupUpdates }));
    s.begin(1, makeUpdate(0));
    const base = s.retainedBytes();
    const retained: number[] = [];
    let heapAt20 = 0;
    let peakAfter = 0;
    let sumOfMeans = 0;
    let examples = 0;
    for (let k = 0; k < UPDATES; k++) {
      s.accumulate({ hospitalId: `h${k}`, examples: 1 + (k % 3), weights: makeUpdate(k) });
      sumOfMeans += (1 + (k % 3)) * ((k % 7) / 7);
      examples += 1 + (k % 3);
      retained.push(s.retainedBytes());
      if (gc && k >= 20 && k % 20 === 0) {
        gc();
        const m = process.memoryUsage();
        const bytes = m.heapUsed + m.arrayBuffers;
        if (k === 20) heapAt20 = bytes;
        else peakAfter = Math.max(peakAfter, bytes);
      }
    }
    // the accumulator, plus at most groupUpdates held updates, whatever the count
    const bound = base + groupUpdates * MODEL_BYTES;
    assert.ok(Math.max(...retained) <= bound, `retained ${Math.max(...retained)} > ${bound}`);
    assert.ok(base < 3 * MODEL_BYTES, `accumulator ${base} bytes for a ${MODEL_BYTES}-byte model`);
    assert.ok(Math.max(...retained) > base, 'held updates are counted');
    if (gc) {
      // freed ArrayBuffers are released lazily, so allow slack; had every update
      // been kept, 180 more models (720 MB) would be alive
      assert.ok(peakAfter - heapAt20 < 25 * MODEL_BYTES, `heap grew by ${peakAfter - heapAt20} bytes`);
    }
    const r = s.finish();
    assert.equal(r.used.length, UPDATES);
    assert.ok(Math.abs(r.weights[1].values[0] - (1 + sumOfMeans / examples)) < 1e-6);
  });
}
