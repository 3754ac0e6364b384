import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plural } from './words';

test('plural: singular only for one', () => {
  assert.deepEqual(
    [plural(1, 'round'), plural(0, 'round'), plural(2, 'round'), plural(1, 'class', 'classes'), plural(3, 'class', 'classes')],
    ['1 round', '0 rounds', '2 rounds', '1 class', '3 classes'],
  );
});
