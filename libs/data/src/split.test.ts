import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { DataItem } from './scan';
import { splitDataset } from './split';

function item(i: number, label: number, content = `image-${i}`): DataItem {
  return { path: `/d/c${label}/${i}.png`, label, className: `c${label}`, hash: createHash('sha256').update(content).digest('hex') };
}

function items(n: number, classes: number, offset = 0): DataItem[] {
  return Array.from({ length: n }, (_, k) => item(offset + k, (offset + k) % classes));
}

test('each file keeps its split when other files are added or removed', () => {
  const base = items(2000, 4);
  const before = splitDataset({ items: base, presplit: false }, { seed: 3 });
  const where = new Map<string, string>();
  for (const s of ['train', 'val', 'test'] as const) for (const it of before[s]) where.set(it.path, s);
  const grown = [...items(500, 4, 5000), ...base.filter((_, k) => k % 7 !== 0)];
  const after = splitDataset({ items: grown, presplit: false }, { seed: 3 });
  let checked = 0;
  for (const s of ['train', 'val', 'test'] as const) {
    for (const it of after[s]) {
      if (!where.has(it.path)) continue;
      assert.equal(s, where.get(it.path), it.path);
      checked++;
    }
  }
  assert.equal(checked, base.filter((_, k) => k % 7 !== 0).length);
});

test('8:1:1 per class (stratified within sampling error), and the seed changes the draw', () => {
  const all = items(8000, 4);
  const s = splitDataset({ items: all, presplit: false });
  for (let c = 0; c < 4; c++) {
    const n = (xs: DataItem[]) => xs.filter((i) => i.label === c).length;
    const total = n(s.train) + n(s.val) + n(s.test);
    assert.equal(total, 2000);
    // ±4 standard deviations of a binomial(2000, p).
    assert.ok(Math.abs(n(s.train) / total - 0.8) < 0.036, `class ${c} train ${n(s.train)}`);
    assert.ok(Math.abs(n(s.val) / total - 0.1) < 0.027, `class ${c} val ${n(s.val)}`);
  }
  const again = splitDataset({ items: all, presplit: false });
  assert.deepEqual(
    again.val.map((i) => i.path),
    s.val.map((i) => i.path),
  );
  const other = splitDataset({ items: all, presplit: false }, { seed: 1 });
  assert.notDeepEqual(
    other.val.map((i) => i.path),
    s.val.map((i) => i.path),
  );
  const custom = splitDataset({ items: all, presplit: false }, { ratios: [7, 2, 1] });
  assert.ok(Math.abs(custom.val.length / 8000 - 0.2) < 0.02);
});

test('identical images never land in two splits, even filed under different names or classes', () => {
  const all: DataItem[] = [];
  for (let k = 0; k < 300; k++) {
    all.push(item(k, 0, `dup-${k}`), item(1000 + k, 1, `dup-${k}`), item(2000 + k, 0, `dup-${k}`));
  }
  const s = splitDataset({ items: all, presplit: false }, { seed: 9 });
  const splitOf = new Map<string, Set<string>>();
  for (const name of ['train', 'val', 'test'] as const) {
    for (const it of s[name]) {
      if (!splitOf.has(it.hash)) splitOf.set(it.hash, new Set());
      splitOf.get(it.hash)!.add(name);
    }
  }
  assert.equal(splitOf.size, 300);
  for (const sets of splitOf.values()) assert.equal(sets.size, 1);
  assert.ok(s.val.length > 0 && s.test.length > 0);
});

test('pre-split folders: kept as given, but a val/test copy of a train image is dropped', () => {
  const a = { ...item(1, 0, 'same'), split: 'train' as const };
  const b = { ...item(2, 0, 'same'), split: 'test' as const };
  const c = { ...item(3, 1), split: 'val' as const };
  const s = splitDataset({ items: [a, b, c], presplit: true });
  assert.deepEqual(
    [s.train.length, s.val.length, s.test.length],
    [1, 1, 0],
  );
  assert.deepEqual(
    s.dropped.map((i) => i.path),
    [b.path],
  );
});

test('bad ratios are refused', () => {
  assert.throws(() => splitDataset({ items: items(10, 2), presplit: false }, { ratios: [1, -1, 1] }), /non-negative split ratios/);
  assert.throws(() => splitDataset({ items: items(10, 2), presplit: false }, { ratios: [0, 0, 0] }), /positive sum/);
});
