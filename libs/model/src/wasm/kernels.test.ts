import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, wasmTrainingKernelsRegistered } from './register';
import { concatConfig, sliceConfig, splitVConfig } from './slice';
import { FusedAdamOptimizer } from './adam';
import { conv2dConfig, fusedConv2dConfig } from './conv';

// Every custom wasm kernel against the cpu backend's kernels on random inputs.
registerWasmTrainingKernels();
await tf.setBackend('cpu');

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(a[i]));
  }
  return num / den;
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  return f();
}

function rand(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal(shape, 0, 1, 'float32', seed).dataSync() as Float32Array);
}

type Pad = 'same' | 'valid';
const CONV_CASES: [n: number, h: number, w: number, c: number, co: number, k: number, s: number, pad: Pad][] = [
  [2, 7, 9, 3, 5, 3, 1, 'same'],
  [2, 8, 7, 4, 8, 3, 2, 'same'],
  [1, 9, 9, 5, 6, 3, 2, 'valid'],
  [2, 11, 10, 3, 16, 7, 2, 'valid'],
  [1, 13, 11, 3, 12, 7, 2, 'same'],
  [2, 6, 6, 16, 9, 1, 1, 'valid'],
  [1, 13, 13, 7, 3, 1, 2, 'same'],
  [3, 5, 5, 13, 37, 3, 1, 'valid'],
  // above 8×8 outputs a stride-1 3×3 filter gradient goes through Winograd too
  [2, 11, 10, 6, 7, 3, 1, 'same'],
  [1, 12, 13, 5, 9, 3, 1, 'valid'],
  [1, 10, 12, 33, 17, 1, 1, 'same'],
];

test('Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend (strides 1/2, same/valid, odd sizes)', async () => {
  for (const [n, h, w, c, co, k, s, pad] of CONV_CASES) {
    const xs = rand([n, h, w, c], 1);
    const fs = rand([k, k, c, co], 2);
    const grads = (backend: string) =>
      onBackend(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, [n, h, w, c]);
          const f = tf.tensor4d(fs, [k, k, c, co]);
          const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad).square().sum());
          return g([x, f]).map((t) => t.dataSync().slice());
        }),
      );
    const [cx, cf] = await grads('cpu');
    const [wx, wf] = await grads('wasm');
    const label = `n${n} ${h}x${w}x${c}→${co} k${k} s${s} ${pad}`;
    assert.ok(relErr(cx, wx) <= 1e-4, `dx ${label}: ${relErr(cx, wx)}`);
    assert.ok(relErr(cf, wf) <= 1e-4, `dW ${label}: ${relErr(cf, wf)}`);
  }
});

test('Conv2D and FusedConv2D match the cpu backend (strides 1/2, same/valid, dilation 2, odd sizes); a bias or activation goes to the stock kernel', async () => {
  assert.equal(tf.getKernel('Conv2D', 'wasm')?.kernelFunc, conv2dConfig.kernelFunc);
  assert.equal(tf.getKernel('FusedConv2D', 'wasm')?.kernelFunc, fusedConv2dConfig.kernelFunc);
  const cases: [...(typeof CONV_CASES)[number], number][] = [...CONV_CASES.map((c) => [...c, 1] as [...(typeof CONV_CASES)[number], number]), [1, 9, 10, 6, 7, 3, 1, 'same', 2]];
  for (const [n, h, w, c, co, k, s, pad, d] of cases) {
    const xs = rand([n, h, w, c], 11);
    const fs = rand([k, k, c, co], 12);
    const bs = rand([co], 13);
    const run = (backend: string) =>
      onBackend(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, [n, h, w, c]);
          const f = tf.tensor4d(fs, [k, k, c, co]);
          const plain = tf.conv2d(x, f, s, pad, 'NHWC', d);
          const fused = tf.fused.conv2d({ x, filter: f, strides: s, pad, dilations: d });
          const withBias = tf.fused.conv2d({ x, filter: f, strides: s, pad, dilations: d, bias: tf.tensor1d(bs), activation: 'relu' });
          return [plain, fused, withBias].map((t) => t.dataSync().slice());
        }),
      );
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    const label = `n${n} ${h}x${w}x${c}→${co} k${k} s${s} d${d} ${pad}`;
    ['Conv2D', 'FusedConv2D', 'FusedConv2D with bias and relu'].forEach((name, i) =>
      assert.ok(relErr(cpu[i], wasm[i]) <= 1e-4, `${name} ${label}: ${relErr(cpu[i], wasm[i])}`),
    );
  }
});

test('MaxPoolGrad matches the cpu backend (3×3/2 valid as in the stem, 2×2/2 same, 3×3/1 same, odd sizes)', async () => {
  const cases: [number[], number, number, Pad][] = [
    [[2, 11, 9, 5], 3, 2, 'valid'],
    [[1, 7, 8, 3], 2, 2, 'same'],
    [[2, 6, 7, 6], 3, 1, 'same'],
    [[1, 9, 9, 17], 3, 2, 'same'],
  ];
  for (const [shape, k, s, pad] of cases) {
    // Repeated values make ties: the first maximum in the window must win on both.
    const xs = Array.from(rand(shape, 9), (v) => Math.round(v * 2) / 2);
    const g = (backend: string) =>
      onBackend(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, shape as [number, number, number, number]);
          const y = tf.maxPool(x, k, s, pad);
          const dy = tf.tensor(rand(y.shape, 10), y.shape);
          return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, k, s, pad), dy)))(x).dataSync().slice();
        }),
      );
    const cpu = await g('cpu');
    const wasm = await g('wasm');
    assert.ok(relErr(cpu, wasm) <= 1e-6, `${shape} k${k} s${s} ${pad}: ${relErr(cpu, wasm)}`);
  }
});

test('fused training BatchNormalization matches tfjs-layers on the cpu backend: output, gradients, moving statistics', async () => {
  for (const shape of [
    [3, 5, 7, 6],
    [2, 4, 4, 13],
    [9, 5],
  ]) {
    const c = shape[shape.length - 1];
    const xs = Array.from(rand(shape, 3), (v) => 2 * v + 0.5);
    const dys = rand(shape, 4);
    const gamma = Array.from(rand([c], 5), (v) => 1 + 0.3 * v);
    const beta = rand([c], 6);
    const run = (backend: string) =>
      onBackend(backend, () => {
        const layer = tf.layers.batchNormalization({ axis: -1, epsilon: 1.001e-5, momentum: 0.9 });
        layer.build(shape);
        layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta), tf.fill([c], 0.1), tf.fill([c], 2)]);
        const out = tf.tidy(() => {
          const x = tf.tensor(xs, shape);
          const dy = tf.tensor(dys, shape);
          const gx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layer.apply(t, { training: true }) as tf.Tensor, dy)))(x);
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, dy)) as tf.Scalar, layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
          const y = layer.apply(x, { training: true }) as tf.Tensor;
          return [y.dataSync().slice(), gx.dataSync().slice(), ...Object.values(grads).map((g) => g.dataSync().slice()), value.dataSync().slice()];
        });
        const stats = layer.getWeights().slice(2).map((t) => t.dataSync().slice());
        for (const w of layer.weights) w.dispose();
        return [...out, ...stats];
      });
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    const names = ['y', 'dx', 'dgamma', 'dbeta', 'loss', 'movingMean', 'movingVariance'];
    cpu.forEach((v, i) => assert.ok(relErr(v, wasm[i]) <= 1e-4, `${names[i]} ${shape}: ${relErr(v, wasm[i])}`));
  }
});

test('Relu gradient matches the cpu backend, zero at zero', async () => {
  const xs = Float32Array.from(rand([3, 7, 5], 7), (v, i) => (i % 11 === 0 ? 0 : v));
  const dys = rand([3, 7, 5], 8);
  const g = (backend: string) =>
    onBackend(backend, () => tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(dys, [3, 7, 5]))))(tf.tensor(xs, [3, 7, 5])).dataSync().slice()));
  // Same values (the cpu backend yields -0 where dy < 0 and x ≤ 0).
  assert.equal(relErr(await g('cpu'), await g('wasm')), 0);
});

test('Slice, SplitV and Concat match the cpu backend: every axis, ranks 1–4, int32, and the cases left to the stock kernels', async () => {
  const x4 = rand([3, 5, 6, 7], 21);
  const x2 = rand([9, 11], 22);
  const run = (backend: string) =>
    onBackend(backend, () =>
      tf.tidy(() => {
        const a = tf.tensor4d(x4, [3, 5, 6, 7]);
        const m = tf.tensor2d(x2, [9, 11]);
        const out: tf.Tensor[] = [
          tf.slice(a, [0, 0, 0, 2], [3, 5, 6, 4]), // last axis only (a concat's gradient)
          tf.slice(a, [1, 0, 0, 0], [2, 5, 6, 7]), // continuous
          tf.slice(a, [1, 2, 1, 3], [2, 2, 4, 3]), // every axis
          tf.slice(a, [0, 1, 0, 0], [3, 3, 6, 7]), // a middle axis
          tf.slice(m, [2, 3], [5, 6]),
          tf.slice(tf.tensor1d(x2.subarray(0, 13)), [4], [6]),
          tf.slice(tf.tensor3d(x4.subarray(0, 60), [3, 4, 5]), [1, 1, 2], [2, 3, 2]),
          tf.slice(tf.cast(a, 'int32'), [0, 0, 0, 1], [3, 5, 6, 5]),
          tf.slice(tf.reshape(a, [3, 5, 2, 3, 7]), [0, 1, 0, 1, 2], [2, 3, 2, 2, 4]), // rank 5: stock
          tf.slice(tf.cast(tf.greater(a, 0), 'bool'), [0, 0, 0, 1], [3, 5, 6, 5]), // bool: stock
          ...tf.split(a, [2, 4, 1], 3),
          ...tf.split(a, [1, 4], 1),
          ...tf.split(m, 3, 0),
          tf.concat([a, tf.slice(a, [0, 0, 0, 0], [3, 5, 6, 3])], 3),
          tf.concat([a, a, tf.slice(a, [0, 0, 1, 0], [3, 5, 2, 7])], 2),
          tf.concat([tf.slice(a, [0, 0, 0, 0], [1, 5, 6, 7]), a], 0),
          tf.concat([tf.cast(a, 'int32'), tf.cast(a, 'int32')], 1),
          tf.concat([m, tf.zeros([9, 0]), m], 1), // an empty part
          tf.concat([m], 1),
        ];
        return out.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>, Number) }));
      }),
    );
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.equal(wasm.length, cpu.length);
  cpu.forEach((c, i) => {
    assert.deepEqual(wasm[i].shape, c.shape, `case ${i}: shape`);
    assert.equal(wasm[i].dtype, c.dtype, `case ${i}: dtype`);
    assert.deepEqual(wasm[i].values, c.values, `case ${i}: values`);
  });
  // and they are the ones that ran
  await tf.setBackend('wasm');
  const prof = await tf.profile(() => tf.tidy(() => tf.concat(tf.split(tf.ones([2, 3, 3, 4]), [1, 3], 3), 3)));
  assert.ok(prof.kernelNames.includes('SplitV') && prof.kernelNames.includes('Concat'), prof.kernelNames.join());
  for (const c of [sliceConfig, splitVConfig, concatConfig]) assert.equal(tf.getKernel(c.kernelName, 'wasm')?.kernelFunc, c.kernelFunc, c.kernelName);
  (prof.result as tf.Tensor).dispose();
});

test('the fused Adam step gives tfjs Adam’s weights and moments to the bit, with one kernel per variable', async () => {
  await tf.setBackend('wasm');
  const shapes = [[3, 3, 5, 7], [13], [1], [8, 9]];
  const start = shapes.map((sh, i) => rand(sh, 40 + i));
  const grads = Array.from({ length: 4 }, (_, step) => shapes.map((sh, i) => rand(sh, 100 + 10 * step + i)));
  const train = (opt: tf.Optimizer) => {
    const vars = shapes.map((sh, i) => tf.variable(tf.tensor(start[i], sh), true, `adam_test_${opt === fused ? 'f' : 's'}_${i}`));
    for (const g of grads) {
      const map: tf.NamedTensorMap = {};
      vars.forEach((v, i) => (map[v.name] = tf.tensor(g[i], shapes[i])));
      opt.applyGradients(map);
      tf.dispose(Object.values(map));
    }
    const out = vars.map((v) => Array.from(v.dataSync()));
    const moments = opt.getWeights();
    return moments.then((w) => {
      const m = w.map((x) => Array.from(x.tensor.dataSync()));
      tf.dispose(vars);
      return { out, m };
    });
  };
  const stock = tf.train.adam(0.01, 0.9, 0.999, 1e-7);
  const fused = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
  const a = await train(stock);
  const b = await train(fused);
  assert.deepEqual(b.out, a.out, 'weights');
  assert.deepEqual(b.m, a.m, 'iterations and moments');
  stock.dispose();
  fused.dispose();
  // one kernel per variable, none of tfjs's elementwise ones
  const probe = tf.variable(tf.zeros([2]), true, 'adam_probe');
  const opt = new FusedAdamOptimizer(0.01, 0.9, 0.999, 1e-7);
  const g = tf.ones([2]);
  const prof = await tf.profile(() => opt.applyGradients({ adam_probe: g } as unknown as Parameters<typeof opt.applyGradients>[0]));
  assert.equal(prof.kernelNames.filter((k) => k === 'FedxrayAdamStep').length, 1, prof.kernelNames.join());
  assert.ok(!prof.kernelNames.includes('Sqrt') && !prof.kernelNames.includes('RealDiv'), prof.kernelNames.join());
  tf.dispose([probe, g]);
  opt.dispose();
});

test('Identity shares memory: a clone outlives its source and the memory is freed with the last one', async () => {
  await tf.setBackend('wasm');
  const backendIds = () => (tf.backend() as unknown as { dataIdMap: { numDataIds(): number } }).dataIdMap.numDataIds();
  const bytes0 = tf.memory().numBytes;
  const ids0 = backendIds();
  const x = tf.tensor2d([1, -2, 3, 4.5], [2, 2]);
  const y = tf.clone(x);
  const z = tf.clone(y);
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, -2, 3, 4.5]);
  y.dispose();
  assert.deepEqual(Array.from(z.dataSync()), [1, -2, 3, 4.5]);
  assert.equal(backendIds(), ids0 + 1, 'one buffer for three tensors');
  z.dispose();
  assert.equal(tf.memory().numBytes, bytes0);
  assert.equal(backendIds(), ids0);
  // Strings keep the stock (copying) kernel.
  const s = tf.tensor1d(['a', 'b'], 'string');
  assert.deepEqual(tf.clone(s).arraySync(), ['a', 'b']);
});

test('the kernels are registered on wasm and used there', async () => {
  await tf.setBackend('wasm');
  assert.ok(wasmTrainingKernelsRegistered());
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([1, 6, 6, 2]);
  const prof = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.conv2d(t as tf.Tensor4D, tf.ones([3, 3, 2, 2]) as tf.Tensor4D, 1, 'same').sum())(x));
  assert.ok(prof.kernelNames.includes('Conv2DBackpropInput'));
  const bn = tf.layers.batchNormalization({});
  const bnProf = await tf.profile(() => bn.apply(x, { training: true }) as tf.Tensor);
  assert.ok(bnProf.kernelNames.includes('FedxrayBatchNormTrain'), bnProf.kernelNames.join());
  (bnProf.result as tf.Tensor).dispose();
  for (const w of bn.weights) w.dispose();
  x.dispose();
  (prof.result as tf.Tensor).dispose();
  assert.ok(tf.memory().numTensors <= before + 1);
});
