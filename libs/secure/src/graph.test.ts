import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_GRAPH_MAX_PARTICIPANTS, defaultGraph, neighbourMap } from './graph';
import { defaultThreshold, neighbourhoodSize } from './round-config';

const ids = (n: number) => Array.from({ length: n }, (_, i) => 3 * i + 2); // any distinct numbers, not 1..n

test('The sparse graph is k-regular, symmetric and connected, and the same for the same seed', () => {
  for (const [n, k] of [[20, 4], [50, 12], [101, 20]]) {
    const graph = { kind: 'sparse' as const, degree: k, seed: `seed ${n}` };
    const map = neighbourMap(ids(n), graph);
    for (const [u, near] of map) {
      assert.equal(near.length, k, `degree of ${u}`);
      assert.equal(new Set(near).size, k);
      assert.ok(!near.includes(u));
      for (const v of near) assert.ok(map.get(v)!.includes(u), `${u}–${v} is symmetric`);
    }
    const reached = new Set([ids(n)[0]]);
    const queue = [ids(n)[0]];
    while (queue.length) {
      for (const v of map.get(queue.shift()!)!) {
        if (reached.has(v)) continue;
        reached.add(v);
        queue.push(v);
      }
    }
    assert.equal(reached.size, n, 'connected');
    assert.deepEqual(neighbourMap(ids(n), graph), map, 'reproducible from the seed');
    assert.notDeepEqual(neighbourMap(ids(n), { ...graph, seed: 'another' }), map, 'another seed, another graph');
  }
});

test('The full graph links everyone; the default switches to sparse above the small-federation size', () => {
  const map = neighbourMap(ids(5), { kind: 'full' });
  for (const [u, near] of map) assert.deepEqual(near, ids(5).filter((v) => v !== u));
  assert.deepEqual(defaultGraph(FULL_GRAPH_MAX_PARTICIPANTS, 's'), { kind: 'full' });
  assert.deepEqual(defaultGraph(100, 's'), { kind: 'sparse', degree: 20, seed: 's' }); // ⌈3·log₂100⌉ = 20
  assert.deepEqual(defaultGraph(1000, 's'), { kind: 'sparse', degree: 30, seed: 's' });
});

test('The default threshold is the smallest majority of a closed neighbourhood', () => {
  assert.equal(neighbourhoodSize(10, { kind: 'full' }), 10);
  assert.equal(defaultThreshold(10, { kind: 'full' }), 6);
  assert.equal(defaultThreshold(3, { kind: 'full' }), 2);
  assert.equal(defaultThreshold(100, { kind: 'sparse', degree: 20, seed: 's' }), 11);
});
