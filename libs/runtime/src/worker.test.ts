import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTsWorker, tsBootstrap } from './worker';

test('startTsWorker runs a TypeScript module in a worker thread, with its workerData', { timeout: 60_000 }, async () => {
  const worker = startTsWorker(new URL('./fixtures/echo-worker.ts', import.meta.url), { workerData: { n: 3 } });
  try {
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.deepEqual(message, { from: 'typescript', data: { n: 3 } });
  } finally {
    await worker.terminate();
  }
});

test('a worker whose module cannot be imported exits with code 1', { timeout: 60_000 }, async () => {
  const worker = startTsWorker(new URL('./fixtures/no-such-module.ts', import.meta.url));
  const code = await new Promise((resolve) => worker.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(tsBootstrap(new URL('file:///x.ts')), /register\(\).*import\("file:\/\/\/x\.ts"\)/);
});
