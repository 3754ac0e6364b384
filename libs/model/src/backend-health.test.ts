import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend';
import { assertBackendAlive, backendFailure, isBackendCrash } from './backend-health';
import { BackendError } from './errors';

test('a wasm heap that cannot grow fails the allocation with a BackendError instead of writing from address 0, and the backend stays refused', async () => {
  // Prepare: wasm, with the heap grown nearly to its 4 GiB limit (pages never written, so no memory is used)
  await initBackend('wasm');
  assertBackendAlive();
  const ordinary = new Error('a label out of range');
  assert.equal(backendFailure(ordinary), ordinary, 'a usable backend passes errors through');
  const wasm = (tf.findBackend('wasm') as unknown as { wasm: { _malloc(n: number): number } }).wasm;
  assert.notEqual(wasm._malloc(3_900_000_000), 0);
  // Execute: a 512 MiB tensor no longer fits
  let thrown: unknown;
  try {
    tf.fill([128 * 1024 * 1024], 1);
  } catch (err) {
    thrown = err;
  }
  // Assert
  assert.ok(thrown instanceof BackendError, String(thrown));
  assert.match(thrown.message, /wasm backend failed \(out of memory: could not allocate 536870912 bytes\).*cannot compute anything more/);
  assert.throws(() => assertBackendAlive(), BackendError);
  assert.ok(backendFailure(new Error('anything later')) instanceof BackendError, 'every later error reports the dead backend');
  assert.equal(isBackendCrash(new WebAssembly.RuntimeError('memory access out of bounds')), true);
  assert.equal(isBackendCrash(new Error('Aborted()')), false);
});
