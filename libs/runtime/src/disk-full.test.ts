import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDiskFull } from './disk-full';

test('isDiskFull knows the file system’s and SQLite’s out-of-space errors, and nothing else', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.equal(isDiskFull(enospc), true);
  assert.equal(isDiskFull(Object.assign(new Error('quota'), { code: 'EDQUOT' })), true);
  assert.equal(isDiskFull(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })), true);
  assert.equal(isDiskFull(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })), false);
  assert.equal(isDiskFull(Object.assign(new Error('EACCES'), { code: 'EACCES' })), false);
  assert.equal(isDiskFull(new Error('ENOSPC in the message only')), false);
  assert.equal(isDiskFull(null), false);
});
