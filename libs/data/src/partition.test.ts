import { test } from 'node:test';
import assert from 'node:assert/strict';
import { labelCounts, parsePartitionSpec, partition } from './partition';
import type { DataItem } from './scan';

const K = 4;
/** 4000 items, classes of different sizes like the study's (558/1530/1257/586 scaled). */
function data(): DataItem[] {
  const sizes = [560, 1530, 1260, 650];
  const out: DataItem[] = [];
  sizes.forEach((n, label) => {
    for (let i = 0; i < n; i++) out.push({ path: `/d/${label}/${i}.png`, label, className: `c${label}`, hash: `${label}-${i}` });
  });
  return out;
}

function everyItemOnce(parts: DataItem[][], all: DataItem[]) {
  const seen = parts.flat().map((i) => i.path);
  assert.equal(new Set(seen).size, seen.length, 'an item went to two hospitals');
  assert.equal(seen.length, all.length);
}

/** Mean over hospitals of the share of its largest class. */
function dominance(counts: number[][]): number {
  return counts.reduce((a, row) => a + Math.max(...row) / row.reduce((x, y) => x + y, 0), 0) / counts.length;
}

/** Mean total-variation distance between each hospital's label distribution and the global one. */
function skew(counts: number[][]): number {
  const total = Array(K).fill(0);
  for (const row of counts) row.forEach((v, k) => (total[k] += v));
  const n = total.reduce((a, b) => a + b, 0);
  return (
    counts.reduce((acc, row) => {
      const m = row.reduce((a, b) => a + b, 0);
      return acc + row.reduce((a, v, k) => a + Math.abs(v / m - total[k] / n), 0) / 2;
    }, 0) / counts.length
  );
}

test('spec parsing accepts the documented forms and refuses others listing them', () => {
  assert.deepEqual(parsePartitionSpec('iid'), { kind: 'iid' });
  assert.deepEqual(parsePartitionSpec('dirichlet:0.5'), { kind: 'dirichlet', alpha: 0.5 });
  assert.deepEqual(parsePartitionSpec('pathological:2'), { kind: 'pathological', classesPerHospital: 2 });
  assert.deepEqual(parsePartitionSpec('quantity:1'), { kind: 'quantity', beta: 1 });
  assert.deepEqual(parsePartitionSpec('quantity:3,1,1'), { kind: 'quantity', weights: [3, 1, 1] });
  for (const bad of ['', 'dirichlet', 'dirichlet:0', 'dirichlet:-1', 'pathological:1.5', 'iid:2', 'zipf:2', 'quantity:1,x']) {
    assert.throws(() => parsePartitionSpec(bad), /iid \| dirichlet:<alpha > 0> \| pathological/, bad);
  }
});

test('iid: equal sizes and every hospital close to the global label mix', () => {
  const all = data();
  const parts = partition(all, 5, 'iid', 1);
  everyItemOnce(parts, all);
  assert.deepEqual(
    parts.map((p) => p.length),
    [800, 800, 800, 800, 800],
  );
  assert.ok(skew(labelCounts(parts, K)) < 0.05);
});

test('dirichlet: small alpha skews labels strongly, large alpha is near iid', () => {
  const all = data();
  const skewed = partition(all, 10, 'dirichlet:0.1', 7);
  const mild = partition(all, 10, 'dirichlet:100', 7);
  everyItemOnce(skewed, all);
  everyItemOnce(mild, all);
  assert.ok(dominance(labelCounts(skewed, K)) > 0.7, `dominance ${dominance(labelCounts(skewed, K))}`);
  assert.ok(skew(labelCounts(skewed, K)) > 0.4);
  assert.ok(skew(labelCounts(mild, K)) < 0.08, `skew ${skew(labelCounts(mild, K))}`);
  assert.ok(skewed.every((p) => p.length > 0));
});

test('pathological:k gives each hospital exactly k classes', () => {
  const all = data();
  for (const k of [1, 2, 3]) {
    const parts = partition(all, 6, `pathological:${k}`, 11);
    everyItemOnce(parts, all);
    for (const row of labelCounts(parts, K)) assert.equal(row.filter((v) => v > 0).length, k, JSON.stringify(row));
  }
  assert.throws(() => partition(all, 3, 'pathological:5', 1), /k ≤ 4/);
});

test('quantity: sizes follow the weights (or a Dirichlet draw), labels stay mixed', () => {
  const all = data();
  const weighted = partition(all, 3, 'quantity:3,1,1', 5);
  everyItemOnce(weighted, all);
  assert.deepEqual(
    weighted.map((p) => p.length),
    [2400, 800, 800],
  );
  assert.ok(skew(labelCounts(weighted, K)) < 0.06);
  const drawn = partition(all, 8, 'quantity:0.5', 5);
  everyItemOnce(drawn, all);
  const sizes = drawn.map((p) => p.length);
  assert.ok(Math.max(...sizes) > 3 * Math.min(...sizes), `sizes ${sizes}`);
  assert.ok(sizes.every((s) => s >= 1));
  assert.throws(() => partition(all, 2, 'quantity:3,1,1', 5), /Expected 2 quantity weights/);
});

test('partitions are fixed by the seed and independent of input order', () => {
  const all = data();
  const paths = (ps: DataItem[][]) => ps.map((p) => p.map((i) => i.path));
  for (const spec of ['iid', 'dirichlet:0.5', 'pathological:2', 'quantity:1']) {
    const a = partition(all, 4, spec, 42);
    const b = partition([...all].reverse(), 4, spec, 42);
    const c = partition(all, 4, spec, 43);
    assert.deepEqual(paths(a), paths(b), spec);
    assert.notDeepEqual(paths(a), paths(c), spec);
  }
  assert.throws(() => partition(all.slice(0, 2), 3, 'iid', 1), /at least one image per hospital/);
});
