import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { NamedWeights } from '@fedxray/protocol';
import { createStrategy, parseStrategyConfig } from './config';
import { wasmKernelsAvailable } from './kernels';
import { assertClose, model, referenceMean } from './testing';
import { WeightedSum } from './weighted-sum';

const SIZES = [100_003, 7, 3 * 32768 + 5];
const wasm = { skip: wasmKernelsAvailable() ? false : 'wasm SIMD unavailable in this runtime' };

function input(k: number): Float32Array[] {
  return SIZES.map((n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + 1.7 * k + s) * (1 + s)));
}

for (const helper of [false, true]) {
  test(`inputs decoded into intake() slots give the js engine’s mean, whatever the group, count and refusals (${helper ? 'with' : 'without'} a helper thread)`, wasm, () => {
    for (const group of [1, 2, 3, 5]) {
      for (const count of [1, 2, 4, 7]) {
        const reference = new WeightedSum(SIZES, { group, backend: 'js' });
        const sum = new WeightedSum(SIZES, { group, helper });
        for (let round = 0; round < 2; round++) {
          for (let k = 0; k < count; k++) {
            const x = input(k + 10 * round);
            reference.add(x, 1 + k);
            if (k % 3 === 1) {
              sum.add(x, 1 + k); // an input from elsewhere is copied into a slot
              continue;
            }
            let slots = sum.intake()!;
            assert.equal(slots.length, SIZES.length);
            if (k % 4 === 2) {
              slots[0].fill(Number.NaN); // a refused input: decoded, never added
              slots = sum.intake()!;
            }
            slots.forEach((t, s) => t.set(x[s]));
            sum.add(slots, 1 + k);
            assert.equal(sum.threads, helper && availableParallelism() >= 2 ? 2 : 1);
            // slots are made as needed, never more than the group
            const modelBytes = SIZES.reduce((a, b) => a + b, 0) * 4;
            assert.ok(sum.retainedBytes() <= 2 * modelBytes + group * (modelBytes + 4 * 8 * SIZES.length) + 2 * 1024 * 1024 + (group + 1) * 32768 * 4);
          }
          const want = reference.mean();
          const got = sum.mean();
          for (let s = 0; s < SIZES.length; s++) {
            for (let i = 0; i < SIZES[s]; i++) {
              if (Math.abs(got[s][i] - want[s][i]) > 1e-6 * (1 + Math.abs(want[s][i]))) {
                assert.fail(`group ${group}, count ${count}, round ${round}: tensor ${s}[${i}] ${got[s][i]} ≠ ${want[s][i]}`);
              }
            }
          }
        }
        sum.dispose();
      }
    }
  });
}

test('FedAvg offers slots for the aggregated tensors only (FedBN), and their result matches the reference', wasm, () => {
  const global = model(30);
  const updates = [
    { hospitalId: 'a', examples: 3, weights: model(31) },
    { hospitalId: 'b', examples: 5, weights: model(32, 1, 2) },
    { hospitalId: 'c', examples: 9, weights: model(33, -1, 0.5) },
  ];
  for (const batchNorm of ['average', 'local'] as const) {
    const s = createStrategy(parseStrategyConfig({ name: 'fedavg', groupUpdates: 2, batchNorm }));
    s.begin(1, global);
    for (const u of updates) {
      const into = s.intake();
      assert.ok(into, 'a streaming strategy offers slots');
      const local = new Set(s.localTensorNames(global));
      assert.deepEqual([...into.keys()], global.map((t) => t.name).filter((n) => !local.has(n)));
      const decoded: NamedWeights = u.weights.map((t) => {
        const slot = into.get(t.name);
        if (!slot) return t;
        slot.set(t.values);
        return { ...t, values: slot };
      });
      s.accumulate({ ...u, weights: decoded });
    }
    const r = s.finish();
    const names = ['conv1/conv/kernel', 'dense/kernel', 'dense/bias', 'scalar'];
    assertClose(r.weights, referenceMean(updates), 1e-6, names);
  }
  const robust = createStrategy(parseStrategyConfig({ name: 'fedmedian' }));
  robust.begin(1, global);
  assert.equal(robust.intake(), null, 'robust rules keep every update and offer no slots');
});

test('dispose stops the helper thread and lets a strategy be used again from begin', wasm, () => {
  const sizes = [600_000, 500_000];
  const global = sizes.map((n, s) => ({ name: `t${s}`, shape: [n], values: new Float32Array(n).fill(s) }));
  const s = createStrategy(parseStrategyConfig({ name: 'fedavg' }));
  for (let round = 1; round <= 2; round++) {
    s.begin(round, global);
    for (const [h, v] of [
      ['a', 1],
      ['b', 4],
    ] as const) {
      const into = s.intake()!;
      for (const t of global) into.get(t.name)!.fill(v);
      s.accumulate({ hospitalId: h, examples: 1, weights: global.map((t) => ({ ...t, values: into.get(t.name)! })) });
    }
    const r = s.finish();
    assert.ok(r.weights.every((t) => t.values.every((x) => x === 2.5)));
    s.dispose();
    assert.equal(s.retainedBytes(), 0, 'nothing held after dispose');
  }
});
