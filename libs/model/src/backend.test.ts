import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, missingTrainingKernels, onBackendReady } from './backend';
import { BackendError } from './errors';

async function installed(pkg: string): Promise<boolean> {
  const specifier = pkg;
  return import(specifier).then(
    () => true,
    () => false,
  );
}

test('--backend node without tfjs-node fails saying how to install it', { skip: (await installed('@tensorflow/tfjs-node')) && 'tfjs-node is installed here' }, async () => {
  await assert.rejects(initBackend('node'), (e: Error) => {
    assert.ok(e instanceof BackendError);
    assert.match(e.message, /npm install @tensorflow\/tfjs-node/);
    assert.match(e.message, /libtensorflow/);
    return true;
  });
});

test('--backend gpu without tfjs-node-gpu fails saying how to install it and leaves the environment alone', { skip: (await installed('@tensorflow/tfjs-node-gpu')) && 'tfjs-node-gpu is installed here' }, async () => {
  const had = process.env.TF_FORCE_GPU_ALLOW_GROWTH;
  delete process.env.TF_FORCE_GPU_ALLOW_GROWTH;
  await assert.rejects(initBackend('gpu'), /npm install @tensorflow\/tfjs-node-gpu.*CUDA_VISIBLE_DEVICES/s);
  assert.equal(process.env.TF_FORCE_GPU_ALLOW_GROWTH, undefined);
  if (had !== undefined) process.env.TF_FORCE_GPU_ALLOW_GROWTH = had;
});

test('an unknown backend is refused listing the valid ones', async () => {
  await assert.rejects(initBackend('tpu' as never), /auto, gpu, node, wasm, cpu/);
});

test('cpu and wasm start when forced; setup hooks run for their backend', async () => {
  const seen: string[] = [];
  const off = onBackendReady('wasm', (b) => {
    seen.push(b);
  });
  const all = onBackendReady('*', (b) => {
    seen.push(`*${b}`);
  });
  assert.equal((await initBackend('cpu')).backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const w = await initBackend('wasm', { training: false });
  assert.equal(w.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  off();
  all();
  await initBackend('cpu');
  assert.deepEqual(seen, ['*cpu', 'wasm', '*wasm']);
});

test('auto reports what it tried and only picks a backend that can train', async () => {
  const r = await initBackend('auto');
  assert.ok(r.tried.length >= 1);
  assert.equal(r.tried.at(-1)?.name, r.choice);
  assert.equal(r.tried.at(-1)?.error, undefined);
  assert.deepEqual(missingTrainingKernels(r.backend), []);
  for (const t of r.tried.slice(0, -1)) assert.ok(t.error, `${t.name} was skipped without a reason`);
  const wasmTry = r.tried.find((t) => t.name === 'wasm');
  if (wasmTry?.error) assert.match(wasmTry.error, /cannot train: no .*Conv2DBackpropFilter/);
});
