import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batches, planEpoch } from './batches';
import type { Batch } from './batches';
import type { RawImage } from './decode';
import { scanDataset } from './scan';
import type { DataItem } from './scan';
import { grayPng, put } from './testing/images';

function fakeItems(counts: number[]): DataItem[] {
  const out: DataItem[] = [];
  counts.forEach((n, label) => {
    for (let i = 0; i < n; i++) out.push({ path: `/fake/${label}/${i}`, label, className: `c${label}`, hash: `${label}-${i}` });
  });
  return out;
}

async function collect(stream: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of stream) out.push(b);
  return out;
}

test('real files: shapes, labels and values come through; unreadable files are skipped and counted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedxray-batches-'));
  try {
    // Class c's images are uniformly gray (10·c + i), so each example can be traced back.
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 5; i++) await put(join(dir, `k${c}`, `${i}.png`), await grayPng(new Uint8Array(20 * 20).fill(100 * c + i), 20));
    }
    await writeFile(join(dir, 'k1', 'broken.png'), (await grayPng(new Uint8Array(400).fill(7), 20)).subarray(0, 40));
    const ds = await scanDataset(dir);
    assert.equal(ds.items.length, 11);
    const stream = batches(ds.items, { batchSize: 4, imageSize: 8, seed: 3 });
    const got = await collect(stream);
    assert.equal(stream.plan.length, 11);
    assert.equal(got.length, 3, '11 planned examples in batches of 4');
    assert.equal(
      got.reduce((a, b) => a + b.n, 0),
      10,
    );
    assert.equal(stream.stats.skippedExamples, 1);
    assert.equal(stream.stats.skipped.length, 1);
    assert.match(stream.stats.skipped[0].path, /broken\.png$/);
    assert.match(stream.stats.skipped[0].reason, /PNG/);
    const seen: number[] = [];
    for (const b of got) {
      assert.equal(b.x.length, b.n * 8 * 8 * 3);
      assert.equal(b.imageSize, 8);
      assert.equal(b.channels, 3);
      for (let j = 0; j < b.n; j++) {
        const v = Math.round(b.x[j * 192] * 255);
        assert.equal(Math.floor(v / 100), b.labels[j], 'label matches the image');
        assert.ok(b.x.subarray(j * 192, (j + 1) * 192).every((u) => Math.abs(u * 255 - v) < 1e-3), 'uniform image, all channels');
        seen.push(v);
      }
    }
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 100, 101, 102, 103, 104],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('each epoch visits every item once, reshuffled by seed + epoch and reproducible', () => {
  const items = fakeItems([30, 20]);
  const order = (epoch: number, seed = 1) => planEpoch(items, { seed, epoch }).map((e) => e.item.path);
  assert.deepEqual([...order(0)].sort(), items.map((i) => i.path).sort());
  assert.deepEqual(order(0), order(0));
  assert.notDeepEqual(order(0), order(1));
  assert.notDeepEqual(order(0), order(0, 2));
  assert.deepEqual(
    planEpoch(items, { shuffle: false }).map((e) => e.item.path),
    items.map((i) => i.path),
  );
  assert.equal(planEpoch(items, { maxExamples: 7 }).length, 7);
});

test('balance brings every class to the target with augmented copies; originals stay as they are', () => {
  const items = fakeItems([10, 3, 0, 6]);
  const plan = planEpoch(items, { balance: 'max', maxRepeat: 0, seed: 2, numClasses: 4 });
  const per = [0, 0, 0, 0];
  for (const e of plan) per[e.item.label]++;
  assert.deepEqual(per, [10, 10, 0, 10]);
  assert.equal(plan.filter((e) => e.augment).length, 7 + 4);
  assert.ok(plan.filter((e) => !e.augment).length === items.length);
  // Copies spread over the class's images rather than repeating one.
  const copies = plan.filter((e) => e.augment && e.item.label === 1).map((e) => e.item.path);
  assert.equal(new Set(copies).size, 3);
  const fixed = planEpoch(items, { balance: 8, maxRepeat: 0 });
  const per8 = [0, 0, 0, 0];
  for (const e of fixed) per8[e.item.label]++;
  assert.deepEqual(per8, [10, 8, 0, 8]);
  assert.throws(() => planEpoch(items, { balance: -1 }), /positive integer/);
  const all = planEpoch(items, { augment: {} });
  assert.ok(all.every((e) => e.augment));
});

test('memory stays bounded: at most (prefetch + 1) batches are decoded ahead of the consumer', async () => {
  const items = fakeItems([200]);
  let decoded = 0;
  const decode = async (_item: DataItem, size: number): Promise<RawImage> => {
    decoded++;
    await new Promise((r) => setImmediate(r));
    return { width: size, height: size, channels: 1, data: new Float32Array(size * size) };
  };
  const stream = batches(items, { batchSize: 10, imageSize: 4, prefetch: 2, concurrency: 8, decode });
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  // Give the prefetcher every chance to run ahead.
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
  assert.ok(decoded <= 30, `decoded ${decoded} images while the consumer held one batch`);
  assert.ok(decoded >= 20, 'prefetch did run ahead');
  let n = 1;
  while (!(await it.next()).done) n++;
  assert.equal(n, 20);
  assert.equal(decoded, 200);
});

test('augmentation in a stream is reproducible whatever the concurrency', async () => {
  const items = fakeItems([6, 6]);
  const decode = async (item: DataItem, size: number): Promise<RawImage> => {
    const data = new Float32Array(size * size);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7 + item.label * 13 + Number(item.path.split('/').pop())) % 17) / 17;
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    return { width: size, height: size, channels: 1, data };
  };
  const run = async (concurrency: number, epoch = 0) => (await collect(batches(items, { batchSize: 5, imageSize: 16, augment: {}, seed: 4, epoch, concurrency, decode }))).map((b) => Array.from(b.x));
  const a = await run(1);
  const b = await run(6);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, await run(1, 1));
});

test('bad options are refused with the field named', () => {
  assert.throws(() => batches([], { batchSize: 0, imageSize: 8 }), /batchSize to be a positive integer/);
  assert.throws(() => batches([], { batchSize: 2, imageSize: 0 }), /imageSize/);
});
