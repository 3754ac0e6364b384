import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerCpuTrainingKernels, unregisterCpuTrainingKernels } from './cpu-kernels';

await tf.setBackend('cpu');

/** Runs `f` with the stock kernels and with the fast ones; returns both results. */
function both(f: () => tf.Tensor | tf.Tensor[]): [Float32Array[], Float32Array[]] {
  const run = () => {
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const vals = list.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    tf.dispose(list);
    return vals;
  };
  unregisterCpuTrainingKernels();
  const stock = run();
  registerCpuTrainingKernels();
  return [stock, run()];
}

function close(a: Float32Array[], b: Float32Array[], label: string): void {
  assert.equal(a.length, b.length, label);
  for (let k = 0; k < a.length; k++) {
    assert.equal(a[k].length, b[k].length, label);
    let scale = 1e-6;
    for (const v of a[k]) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < a[k].length; i++) {
      assert.ok(Math.abs(a[k][i] - b[k][i]) <= 1e-4 * scale, `${label}: [${i}] ${a[k][i]} vs ${b[k][i]}`);
    }
  }
}

test('Conv2DBackpropFilter equals the stock kernel over strides, padding and odd sizes', () => {
  let seed = 1;
  for (const [h, w, cin, cout, k] of [
    [7, 9, 3, 5, 3],
    [11, 6, 1, 4, 7],
    [8, 8, 6, 2, 1],
  ]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        const x = tf.randomNormal([2, h, w, cin], 0, 1, 'float32', seed++) as tf.Tensor4D;
        const filter = tf.randomNormal([k, k, cin, cout], 0, 1, 'float32', seed++) as tf.Tensor4D;
        const y = tf.conv2d(x, filter, stride, pad);
        const dy = tf.relu(tf.randomNormal(y.shape, 0, 1, 'float32', seed++)); // zeros too
        const [a, b] = both(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)))(filter));
        close(a, b, `${h}x${w}x${cin}→${cout} k${k} s${stride} ${pad}`);
        tf.dispose([x, filter, y, dy]);
      }
    }
  }
});

test('MaxPoolGrad equals the stock kernel (3/2 valid as in the stem, 2/2 same, odd sizes)', () => {
  for (const [size, stride, pad, h] of [
    [3, 2, 'valid', 9],
    [2, 2, 'same', 7],
    [3, 1, 'same', 5],
  ] as const) {
    const x = tf.randomNormal([2, h, h + 2, 3], 0, 1, 'float32', h) as tf.Tensor4D;
    const dy = tf.randomNormal(tf.maxPool(x, size, stride, pad).shape, 0, 1, 'float32', 3);
    const [a, b] = both(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, size, stride, pad), dy)))(x));
    close(a, b, `maxPool ${size}/${stride} ${pad}`);
    tf.dispose([x, dy]);
  }
});

test('Slice, SplitV, Tile, Sum and Mean equal the stock kernels', () => {
  const x = tf.randomNormal([3, 5, 4, 7], 0, 1, 'float32', 9);
  const v = tf.randomNormal([7], 0, 1, 'float32', 10);
  const cases: [string, () => tf.Tensor | tf.Tensor[]][] = [
    ['slice last axis', () => tf.slice(x, [0, 0, 0, 2], [3, 5, 4, 3])],
    ['slice inner box', () => tf.slice(x, [1, 1, 1, 0], [2, 3, 2, 7])],
    ['slice 2d', () => tf.slice(tf.reshape(x, [15, 28]), [2, 5], [4, 9])],
    ['split channels', () => tf.split(x, [3, 4], 3)],
    ['split rows', () => tf.split(x, [2, 3], 1)],
    ['tile vector', () => tf.tile(tf.reshape(v, [1, 1, 1, 7]), [3, 5, 4, 1])],
    ['tile mixed', () => tf.tile(x, [2, 1, 3, 2])],
    ['sum leading', () => tf.sum(x, [0, 1, 2])],
    ['sum leading keepDims', () => tf.sum(x, [0, 1, 2], true)],
    ['mean leading', () => tf.mean(x, [0, 1])],
    ['mean inner (stock path)', () => tf.mean(x, [1, 2])],
    ['sum all', () => tf.sum(x)],
  ];
  for (const [label, f] of cases) {
    const [a, b] = both(f);
    close(a, b, label);
  }
  tf.dispose([x, v]);
});
