import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClassList } from './commands/hospital';

test('hospital --classes: a comma-separated list, trimmed; empty or repeated names refused', () => {
  assert.equal(parseClassList(undefined), undefined);
  assert.deepEqual(parseClassList('covid19, normal,pneumonia'), ['covid19', 'normal', 'pneumonia']);
  assert.throws(() => parseClassList('a,,b'), /Expected --classes to be comma-separated class names, but got "a,,b"/);
  assert.throws(() => parseClassList('a,b,a'), /Expected distinct names in --classes, but a is repeated/);
});
