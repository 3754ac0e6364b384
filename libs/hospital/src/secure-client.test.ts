import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSumLayout, l2Norm, seededRandom, unpackFitSum, SumLayout } from '@fedxray/secure';
import type { NamedWeights } from '@fedxray/protocol';
import { SecureParticipant, updateDelta } from './secure-client';

const global: NamedWeights = [
  { name: 'a', shape: [3], values: new Float32Array([1, 2, 3]) },
  { name: 'bn', shape: [2], values: new Float32Array([0, 0]) },
  { name: 'b', shape: [2], values: new Float32Array([-1, 1]) },
];
const trained: NamedWeights = [
  { name: 'b', shape: [2], values: new Float32Array([-0.5, 1.5]) },
  { name: 'bn', shape: [2], values: new Float32Array([9, 9]) },
  { name: 'a', shape: [3], values: new Float32Array([1.25, 2, 2.75]) },
];

test('the update is the delta from the global model in its order, without the tensors kept local', () => {
  assert.deepEqual([...updateDelta(global, trained, ['bn'])], [0.25, 0, -0.25, 0.5, 0.5]);
  assert.throws(() => updateDelta(global, trained.slice(1), []), /no tensor b of 2 values/);
});

test('an unmasked (central DP) contribution is clipped to C, noised by nothing, and decodes to the clipped delta', () => {
  const p = new SecureParticipant(() => seededRandom(7));
  const layout = fitSumLayout({ length: 5, range: 1, maxWeight: 1, maxSummands: 3, dp: true });
  const out = p.contribution({ session: 's', index: 2, masked: false, layout: layout.toWire(), dp: { clip: 0.1, noiseStd: 0 } }, global, trained, ['bn'], { examples: 40, loss: 1, accuracy: 0.5 });
  assert.equal(out.clipped, true);
  assert.ok(Math.abs(out.norm - Math.sqrt(0.0625 * 2 + 0.25 * 2)) < 1e-7);
  const words = new Uint32Array(out.input.masked.slice().buffer);
  const sum = unpackFitSum(SumLayout.fromWire(layout.toWire()), words, 1);
  assert.ok(Math.abs(l2Norm(sum.update) - 0.1) < 1e-7);
  assert.ok(Math.abs(sum.update[3] / sum.update[0] - 2) < 1e-6, 'direction kept');
});

test('a masked fit for a secure sum the hospital was not set up for is refused before training', () => {
  const p = new SecureParticipant();
  const layout = fitSumLayout({ length: 5, range: 1, maxWeight: 10, maxSummands: 3, dp: false });
  assert.throws(() => p.checkReady({ session: 'run/r1/a1/fit', index: 1, masked: true, layout: layout.toWire() }), /holds no such session/);
});
