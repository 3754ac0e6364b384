import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { buildModel } from './densenet';
import { getNamedWeights, setNamedWeights, weightManifest } from './weights';
import { ModelError } from './errors';
import { tinySpec } from './test-util';

await tf.setBackend('cpu');

test('two models in one process have the same manifest (no _1 suffixes)', () => {
  const a = buildModel(tinySpec(), { seed: 1 });
  const b = buildModel(tinySpec(), { seed: 2 });
  // tfjs itself uniquifies the second model's variable names…
  assert.notEqual(a.weights[0].name, b.weights[0].name);
  // …the manifest does not.
  assert.deepEqual(weightManifest(a), weightManifest(b));
  assert.ok(weightManifest(b).every((w) => !/_\d+$/.test(w.name.split('/').at(-1)!)));
  a.dispose();
  b.dispose();
});

test('another process produces the same manifest', () => {
  // Build a few models first so this process' tfjs name counters differ from the child's.
  for (let i = 0; i < 2; i++) buildModel(tinySpec()).dispose();
  const mine = JSON.stringify(weightManifest(buildModel(tinySpec())));
  const index = fileURLToPath(new URL('./index.ts', import.meta.url));
  const script = `import { buildModel, weightManifest, ModelSpecSchema } from ${JSON.stringify(index)};
const spec = ModelSpecSchema.parse(${JSON.stringify(tinySpec())});
process.stdout.write(JSON.stringify(weightManifest(buildModel(spec))));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, mine);
});

test('weights round-trip by name, BatchNorm statistics included', () => {
  const a = buildModel(tinySpec(), { seed: 1 });
  const b = buildModel(tinySpec(), { seed: 2 });
  const wa = getNamedWeights(a);
  wa.find((w) => w.name === 'conv1/bn/moving_mean')!.values.fill(0.25);
  setNamedWeights(b, wa);
  const wb = getNamedWeights(b);
  assert.equal(wb.length, wa.length);
  for (let i = 0; i < wa.length; i++) {
    assert.equal(wb[i].name, wa[i].name);
    assert.deepEqual(wb[i].values, wa[i].values);
  }
  // Values are copies: changing them does not touch the model.
  wb[0].values[0] = 123;
  assert.notEqual(getNamedWeights(b)[0].values[0], 123);
  a.dispose();
  b.dispose();
});

test('missing, misshaped and unknown weights are refused and nothing is written', () => {
  const m = buildModel(tinySpec(), { seed: 1 });
  const before = getNamedWeights(m);
  const w = getNamedWeights(buildModel(tinySpec(), { seed: 9 }));
  assert.throws(() => setNamedWeights(m, w.slice(1)), (e: Error) => e instanceof ModelError && /missing conv1\/conv\/kernel/.test(e.message));
  const bad = w.map((t) => (t.name === 'dense/bias' ? { ...t, shape: [t.shape[0] + 1], values: new Float32Array(t.shape[0] + 1) } : t));
  assert.throws(() => setNamedWeights(m, bad), /dense\/bias: expected shape \[16\], got \[17\]/);
  assert.throws(() => setNamedWeights(m, [...w, { name: 'extra/kernel', shape: [1], values: new Float32Array(1) }]), /unknown extra\/kernel/);
  assert.deepEqual(getNamedWeights(m), before);
  m.dispose();
});

test('setting weights does not leak tensors', () => {
  const m = buildModel(tinySpec(), { seed: 1 });
  const w = getNamedWeights(m);
  setNamedWeights(m, w);
  const n = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) setNamedWeights(m, w);
  assert.equal(tf.memory().numTensors, n);
  m.dispose();
});

test('the wasm backend gives the same manifest and, for the same seed, the same initial weights', async () => {
  const onCpu = getNamedWeights(buildModel(tinySpec(), { seed: 21 }));
  await tf.setBackend('wasm');
  try {
    const m = buildModel(tinySpec(), { seed: 21 });
    const onWasm = getNamedWeights(m);
    assert.deepEqual(
      onWasm.map((w) => [w.name, w.shape]),
      onCpu.map((w) => [w.name, w.shape]),
    );
    for (let i = 0; i < onCpu.length; i++) assert.deepEqual(onWasm[i].values, onCpu[i].values, onCpu[i].name);
    m.dispose();
  } finally {
    await tf.setBackend('cpu');
  }
});
