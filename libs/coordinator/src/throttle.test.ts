import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthThrottle } from './throttle';

test('an address is refused after the limit, each further failure doubles the wait up to the cap, and a success or a quiet spell clears it', () => {
  let now = 0;
  const t = new AuthThrottle({ limit: 3, blockMs: 1000, maxBlockMs: 4000, forgetMs: 60_000, now: () => now });
  assert.deepEqual([t.failed('a'), t.failed('a')], [0, 0]);
  assert.equal(t.failed('a'), 1000);
  assert.equal(t.waitOf('a'), 1000);
  assert.equal(t.waitOf('b'), 0, 'other addresses are not affected');
  const waits: number[] = [];
  for (let i = 0; i < 4; i++) {
    now += t.waitOf('a');
    assert.equal(t.waitOf('a'), 0);
    waits.push(t.failed('a'));
  }
  assert.deepEqual(waits, [2000, 4000, 4000, 4000]);
  t.succeeded('a');
  assert.equal(t.waitOf('a'), 0);
  assert.equal(t.failed('a'), 0, 'a success starts the count afresh');
  now += 60_001;
  assert.deepEqual([t.failed('a'), t.failed('a')], [0, 0], 'a quiet spell forgets earlier failures');
});
