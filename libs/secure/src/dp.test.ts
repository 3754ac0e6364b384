import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipL2, l2Norm } from './dp/clip';
import { DpFedAvg } from './dp/coordinator';
import { privatiseUpdate } from './dp/hospital';
import { addGaussian, cryptoRandom, seededRandom } from './random';
import { refused, rng } from './testing';

function moments(xs: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  const mean = s / xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

test('Gaussian noise has the asked standard deviation; seeded draws repeat, crypto draws do not', () => {
  const n = 200_000;
  const a = new Float64Array(n);
  addGaussian(a, 2.5, seededRandom('noise'));
  const { mean, variance } = moments(a);
  // Standard errors: mean 2.5/√n ≈ 0.0056, variance 6.25·√(2/n) ≈ 0.0198; 5 of each.
  assert.ok(Math.abs(mean) < 0.028, `mean ${mean}`);
  assert.ok(Math.abs(variance - 6.25) < 0.1, `variance ${variance}`);
  // Tails: about 4.55% beyond 2σ.
  const beyond = a.filter((x) => Math.abs(x) > 5).length / n;
  assert.ok(Math.abs(beyond - 0.0455) < 0.003, `beyond 2σ: ${beyond}`);
  const b = new Float64Array(n);
  addGaussian(b, 2.5, seededRandom('noise'));
  assert.deepEqual(b, a);
  const c = new Float64Array(8);
  const d = new Float64Array(8);
  addGaussian(c, 1, cryptoRandom());
  addGaussian(d, 1, cryptoRandom());
  assert.notDeepEqual(c, d);
  assert.ok(c.every(Number.isFinite));
});

test('Clipping scales an update to norm C and leaves a shorter one alone', () => {
  const v = Float32Array.from([3, 4]);
  assert.deepEqual(clipL2(v, 1), { norm: 5, factor: 0.2 });
  assert.ok(Math.abs(l2Norm(v) - 1) < 1e-7);
  const w = Float64Array.from([0.3, 0.4]);
  assert.deepEqual(clipL2(w, 1), { norm: 0.5, factor: 1 });
  assert.deepEqual([...w], [0.3, 0.4]);
});

test('A hospital clips, weights and adds its noise share; the result has sensitivity C', () => {
  const u = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
  const norm = l2Norm(u);
  const r = privatiseUpdate(u, 250, { clip: 2, weightCap: 1000, noiseStd: 0 }, seededRandom(1));
  assert.equal(r.clipped, true);
  assert.equal(r.weight, 0.25);
  assert.ok(Math.abs(r.norm - norm) < 1e-9);
  assert.ok(Math.abs(l2Norm(u) - 0.5) < 1e-5, 'norm = weight · C');
  const big = Float32Array.from({ length: 1000 }, () => 1e3);
  privatiseUpdate(big, 5000, { clip: 2, weightCap: 1000, noiseStd: 0 }, seededRandom(1));
  assert.ok(Math.abs(l2Norm(big) - 2) < 1e-4, 'weights are capped at 1');
  const noisy = new Float64Array(100_000);
  privatiseUpdate(noisy, 1, { clip: 1, noiseStd: 0.3 }, seededRandom(2));
  assert.ok(Math.abs(moments(noisy).variance - 0.09) < 0.002);
  refused(() => privatiseUpdate(Float32Array.from([NaN]), 1, { clip: 1, noiseStd: 0 }, seededRandom(1)), 'not_finite');
  refused(() => privatiseUpdate(new Float32Array(1), 1, { clip: 0, noiseStd: 0 }, seededRandom(1)), 'bad_config', /clip > 0/);
});

test('Central DP: the coordinator adds N(0, z²C²) once and divides by the fixed denominator', () => {
  const dp = new DpFedAvg({ noiseMultiplier: 1.5, clip: 0.4, mode: 'central', expectedParticipants: 8 });
  assert.deepEqual(dp.hospitalParams(), { clip: 0.4, noiseStd: 0 });
  const sum = new Float64Array(100_000).fill(2);
  dp.finalise(sum, seededRandom('central'));
  const { mean, variance } = moments(sum);
  assert.ok(Math.abs(mean - 2 / 8) < 0.001, `mean ${mean}`);
  assert.ok(Math.abs(variance - (1.5 * 0.4) ** 2 / 64) < 0.0002, `variance ${variance}`);
  assert.equal(dp.accountedNoiseMultiplier(3), 1.5);
});

test('Distributed DP: n shares of N(0, z²C²/n) add up to N(0, z²C²); dropouts weaken it, and the accountant is told', () => {
  const n = 5;
  const dp = new DpFedAvg({ noiseMultiplier: 1.2, clip: 0.5, mode: 'distributed', expectedParticipants: n });
  const params = dp.hospitalParams();
  assert.ok(Math.abs(params.noiseStd - (1.2 * 0.5) / Math.sqrt(n)) < 1e-12);
  const total = new Float64Array(50_000);
  for (let h = 0; h < n; h++) {
    const share = new Float64Array(total.length);
    privatiseUpdate(share, 1, params, seededRandom(`hospital ${h}`));
    for (let i = 0; i < total.length; i++) total[i] += share[i];
  }
  assert.ok(Math.abs(moments(total).variance - 0.36) < 0.01);
  const before = Float64Array.from(total);
  dp.finalise(total, seededRandom(0));
  assert.ok(Math.abs(total[7] - before[7] / n) < 1e-15, 'no second noise draw at the coordinator');
  assert.equal(dp.accountedNoiseMultiplier(5), 1.2);
  assert.ok(Math.abs(dp.accountedNoiseMultiplier(4) - 1.2 * Math.sqrt(4 / 5)) < 1e-12);
});

test('Adaptive clipping splits z as TensorFlow Federated does and tracks the target quantile of norms', () => {
  // TFF adaptive_clip_noise_params: σ_b = 0.05·clients, z_value = (z⁻² − (2σ_b)⁻²)^(−1/2).
  const dp = new DpFedAvg({ noiseMultiplier: 1, clip: 0.1, mode: 'central', expectedParticipants: 100, adaptive: {} });
  assert.equal(dp.countStddev, 5);
  assert.ok(Math.abs(dp.valueNoiseMultiplier - 1 / Math.sqrt(1 - 1 / 100)) < 1e-12);
  // Update norms uniform on [0, 2]: the median is 1. Starting at 0.1, the clip climbs to it.
  const next = rng(11);
  const random = seededRandom('adaptive');
  for (let round = 0; round < 150; round++) {
    let indicators = 0;
    for (let h = 0; h < 100; h++) {
      const r = privatiseUpdate(Float64Array.from([2 * next()]), 1, dp.hospitalParams(), random);
      indicators += r.indicator!;
    }
    dp.updateClip(indicators, random);
  }
  assert.ok(Math.abs(dp.clip - 1) < 0.2, `clip ${dp.clip}`);
  refused(() => new DpFedAvg({ noiseMultiplier: 1, clip: 1, mode: 'central', expectedParticipants: 10, adaptive: {} }), 'bad_config', /z < 2σ_b; got z 1 and σ_b 0\.5/);
});

test('Bad DP options are refused, listing what is valid', () => {
  const ok = { noiseMultiplier: 1, clip: 1, mode: 'central' as const, expectedParticipants: 4 };
  refused(() => new DpFedAvg({ ...ok, mode: 'local' as never }), 'bad_config', /mode central or distributed, got local/);
  refused(() => new DpFedAvg({ ...ok, noiseMultiplier: -1 }), 'bad_config');
  refused(() => new DpFedAvg({ ...ok, expectedParticipants: 0 }), 'bad_config');
  refused(() => new DpFedAvg(ok).updateClip(0, seededRandom(1)), 'bad_config', /needs adaptive clipping/);
});
