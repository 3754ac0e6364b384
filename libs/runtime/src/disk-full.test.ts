import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { isDiskFull } from './disk-full';

test('isDiskFull knows the file system’s and SQLite’s out-of-space errors, and nothing else', () => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  assert.equal(isDiskFull(enospc), true);
  assert.equal(isDiskFull(Object.assign(new Error('quota'), { code: 'EDQUOT' })), true);
  assert.equal(isDiskFull(new Database.SqliteError('database or disk is full', 'SQLITE_FULL')), true);
  assert.equal(isDiskFull(new Database.SqliteError('database is locked', 'SQLITE_BUSY')), false);
  assert.equal(isDiskFull(Object.assign(new Error('EACCES'), { code: 'EACCES' })), false);
  assert.equal(isDiskFull(new Error('ENOSPC in the message only')), false);
  assert.equal(isDiskFull(null), false);
});
