import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batches } from './batches';
import type { Batch, BatchOptions } from './batches';
import { BatchWorkerPool, parallelBatches } from './parallel';
import { scanDataset } from './scan';
import { blocks, grayPng, put } from './testing/images';

async function collect(stream: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of stream) out.push(b);
  return out;
}

test('worker threads produce exactly the batches of the single-thread stream, skipped files included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-parallel-'));
  try {
    for (let i = 0; i < 14; i++) await put(join(dir, i % 3 ? 'a' : 'b', `${i}.png`), await grayPng(blocks(24, i + 1), 24));
    await writeFile(join(dir, 'a', 'broken.png'), (await grayPng(blocks(24, 99), 24)).subarray(0, 50));
    const ds = await scanDataset(dir);
    const pool = new BatchWorkerPool(3);
    try {
      // One pool serves several epochs; each equals the single-thread stream of that epoch.
      for (const epoch of [1, 2]) {
        const options: BatchOptions = { batchSize: 4, imageSize: 16, seed: 5, epoch, augment: {}, balance: 'max', prefetch: 1 };
        const single = batches(ds.items, options);
        const one = await collect(single);
        const multi = pool.batches(ds.items, options);
        const many = await collect(multi);
        assert.equal(many.length, one.length);
        for (let k = 0; k < one.length; k++) {
          assert.deepEqual(Array.from(many[k].labels), Array.from(one[k].labels));
          assert.deepEqual(many[k].x, one[k].x);
        }
        assert.deepEqual(multi.stats, single.stats);
        assert.equal(multi.stats.skipped.length, 1);
        assert.ok(multi.stats.skippedExamples >= 1);
      }
    } finally {
      await pool.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a consumer that stops early ends the workers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-parallel-'));
  try {
    for (let i = 0; i < 12; i++) await put(join(dir, 'a', `${i}.png`), await grayPng(blocks(16, i + 1), 16));
    const ds = await scanDataset(dir);
    let n = 0;
    for await (const b of parallelBatches(ds.items, { batchSize: 2, imageSize: 8, workers: 2 })) {
      n += b.n;
      if (n >= 4) break;
    }
    assert.equal(n, 4);
    assert.throws(() => parallelBatches(ds.items, { batchSize: 2, imageSize: 8, workers: 2, decode: async () => ({ width: 8, height: 8, channels: 1, data: new Float32Array(64) }) }), /custom decode/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
