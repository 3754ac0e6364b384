import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classTargets, DEFAULT_MAX_REPEAT, epochLength } from './balance';
import { planEpoch } from './batches';
import type { DataItem } from './scan';

function fakeItems(counts: number[]): DataItem[] {
  return counts.flatMap((n, label) => Array.from({ length: n }, (_, i) => ({ path: `/fake/${label}/${i}`, label, className: `c${label}`, hash: `${label}-${i}` })));
}

/** How often each image appears in the plan, and the plan's class counts. */
function tally(plan: { item: DataItem }[], classes: number) {
  const perImage = new Map<string, number>();
  const perClass = new Array<number>(classes).fill(0);
  for (const e of plan) {
    perImage.set(e.item.path, (perImage.get(e.item.path) ?? 0) + 1);
    perClass[e.item.label]++;
  }
  return { maxRepeat: Math.max(...perImage.values()), perClass };
}

test('under label skew no image repeats more than maxRepeat times an epoch, and every image appears', () => {
  // A skewed hospital: 300 images of one class, 3 of another.
  const items = fakeItems([300, 3, 40]);
  for (const maxRepeat of [1, 2, 5]) {
    const plan = planEpoch(items, { balance: 'max', maxRepeat, seed: 3 });
    const t = tally(plan, 3);
    assert.ok(t.maxRepeat <= maxRepeat, `maxRepeat ${maxRepeat}: an image appeared ${t.maxRepeat} times`);
    assert.deepEqual(t.perClass, [300, 3 * maxRepeat, Math.min(300, 40 * maxRepeat)]);
    assert.equal(new Set(plan.map((e) => e.item.path)).size, items.length);
    assert.equal(plan.length, epochLength([300, 3, 40], 'max', maxRepeat));
  }
  // The default bound applies when none is given.
  assert.ok(tally(planEpoch(items, { balance: 'max', seed: 3 }), 3).maxRepeat <= DEFAULT_MAX_REPEAT);
});

test('maxRepeat 0 keeps the study balancing: every class up to the target, the rare class repeated 100 times', () => {
  const items = fakeItems([300, 3, 40]);
  const t = tally(planEpoch(items, { balance: 'max', maxRepeat: 0, seed: 3 }), 3);
  assert.deepEqual(t.perClass, [300, 300, 300]);
  assert.equal(t.maxRepeat, 100);
  assert.deepEqual(classTargets([1000, 10, 2000], 1500, 0), [1500, 1500, 2000]);
  assert.deepEqual(classTargets([1000, 0, 10], 'max', 0), [1000, 0, 1000], 'an empty class stays empty without a bound too');
  assert.equal(epochLength([1000, 0, 10], 'max', 0), 2000);
});

test('the class mix moves toward balance without passing the target or shrinking a class', () => {
  assert.deepEqual(classTargets([300, 3, 40, 0], 'max', 2), [300, 6, 80, 0]);
  assert.deepEqual(classTargets([300, 200, 40], 250, 2), [300, 250, 80]);
  assert.deepEqual(classTargets([300, 3, 40], 'none', 2), [300, 3, 40]);
  assert.deepEqual(classTargets([300, 3, 40], 'max', 1), [300, 3, 40]);
  assert.throws(() => classTargets([1, 2], 'max', -1), /maxRepeat to be a positive integer, or 0 for no bound, but got -1/);
  assert.throws(() => classTargets([1, 2], 'max', 1.5), /but got 1.5/);
});
