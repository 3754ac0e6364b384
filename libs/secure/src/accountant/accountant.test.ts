import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RdpAccountant } from './accountant';
import { logErfc } from './log-math';
import { DEFAULT_ORDERS, computeRdp, rdpToEpsilon } from './rdp';
import { refused } from '../testing';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected} (±${tolerance})`);

test('log erfc matches scipy (log 2 + log_ndtr(−x√2)) from the body of the curve to far in the tail', () => {
  // python3 -c "from scipy import special; import math; print(math.log(2) + special.log_ndtr(-x * 2**0.5))"
  const reference: [number, number][] = [
    [-3, 0.6931361352504468],
    [-0.49, 0.4132138497089233],
    [0, 0],
    [0.49, -0.7167603114368805],
    [0.5, -0.7350111298370848],
    [1, -1.849605509933249],
    [5, -27.200889545537446],
    [30, -903.9741171106442],
    [100, -10005.177585122668],
  ];
  for (const [x, y] of reference) close(logErfc(x), y, 1e-13 * Math.max(1, Math.abs(y)), `logErfc(${x})`);
});

test('RDP of the sampled Gaussian matches TensorFlow Privacy\'s published values', () => {
  // tensorflow_privacy/privacy/analysis/rdp_accountant_test.py, test_compute_rdp_scalar:
  //   compute_rdp(0.1, 2, 10, 5) ≈ 0.07737 (places=5).
  close(computeRdp(0.1, 2, 10, [5])[0], 0.07737, 5e-6, 'q 0.1, z 2, 10 steps, α 5');
  // test_compute_rdp_sequence: compute_rdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, inf]) (delta=1e-5).
  const rdp = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]);
  [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307].forEach((v, i) => close(rdp[i], v, 1e-5, `order ${[1.5, 2.5, 5, 50, 100][i]}`));
  assert.equal(rdp[5], Infinity);
  // test_compute_rdp_no_data / no_sampling: q = 0 costs nothing; q = 1 is α/(2σ²).
  assert.equal(computeRdp(0, 10, 1, [20])[0], 0);
  assert.equal(computeRdp(1, 10, 1, [20])[0], 0.1);
});

test('(ε, δ) conversion matches TensorFlow Privacy\'s get_privacy_spent tests', () => {
  // test_get_privacy_spent_check_target_delta: constant RDP 1.1 at orders 2..32, δ = 1e-5 → ε 1.32783806176 at order 32.
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const pure = rdpToEpsilon(
    orders,
    orders.map(() => 1.1),
    1e-5,
  );
  close(pure.epsilon, 1.32783806176, 1e-7, 'constant RDP');
  assert.equal(pure.order, 32);
  // Same test: the Gaussian with z = 4.530877117, no sampling, orders 1.000..99.999 → exactly (1, 1e-6)-DP.
  const fine = Array.from({ length: 99_000 }, (_, i) => 0.001 * (i + 1000)).filter((a) => a > 1);
  close(rdpToEpsilon(fine, computeRdp(1, 4.530877117, 1, fine), 1e-6).epsilon, 1, 1e-7, 'Gaussian at (1, 1e-6)');
  // test_check_composition: two phases composed; the newer conversion stays below the old 8.509656.
  const o = [1.25, 1.5, 1.75, 2, 2.5, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 64, 256];
  const a = computeRdp(1e-4, 0.4, 40_000, o);
  const b = computeRdp(0.1, 2, 100, o);
  assert.ok(rdpToEpsilon(o, a.map((r, i) => r + b[i]), 1e-5).epsilon <= 8.509656);
});

test('The accountant matches Opacus\'s published values', () => {
  // opacus/tests/accountants_test.py, test_rdp_accountant: z 1.5, q 0.04, int(90/0.04) = 2250 steps,
  // δ 1e-5 → ε 7.32911117143 (assertAlmostEqual, 7 places), with RDPAccountant.DEFAULT_ALPHAS.
  const acc = new RdpAccountant();
  for (let i = 0; i < 2250; i++) acc.step(1.5, 0.04);
  assert.equal(acc.steps.length, 1, 'equal steps are merged');
  const spent = acc.spent(1e-5);
  close(spent.epsilon, 7.32911117143, 5e-8, 'Opacus test_rdp_accountant');
  assert.equal(spent.rounds, 2250);
  // opacus/accountants/analysis/rdp.py module docstring: parameters [(1e-5, 1.0, 10), (1e-4, 3.0, 4)],
  // orders 2..32, δ 1e-5 → (0.336, 23) (doctest +NUMBER: to the digits shown).
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const mixed = new RdpAccountant(orders);
  mixed.step(1.0, 1e-5, 10);
  mixed.step(3.0, 1e-4, 4);
  const doc = mixed.spent(1e-5);
  close(doc.epsilon, 0.336, 5e-4, 'Opacus rdp.py docstring');
  assert.equal(doc.order, 23);
  assert.equal(DEFAULT_ORDERS.length, 151);
  assert.deepEqual([DEFAULT_ORDERS[0], DEFAULT_ORDERS[98], DEFAULT_ORDERS[99], DEFAULT_ORDERS[150]], [1.1, 10.9, 12, 63]);
});

test('The budget check stops a run before the round that would exceed ε', () => {
  const acc = new RdpAccountant();
  // z 1, q 0.3: ε at δ 1e-5 is 3.29 after one round, 5.93 after five, 6.37 after six.
  const budget = 6;
  let rounds = 0;
  for (;;) {
    const next = acc.wouldExceed(budget, 1e-5, 1.0, 0.3);
    if (next.exceeds) break;
    acc.stepWithin(budget, 1e-5, 1.0, 0.3);
    rounds++;
  }
  const spent = acc.spent(1e-5);
  assert.ok(spent.epsilon <= budget, `spent ${spent.epsilon}`);
  assert.equal(rounds, 5);
  assert.equal(spent.rounds, 5);
  assert.ok(acc.wouldExceed(budget, 1e-5, 1.0, 0.3).epsilonAfter > budget);
  refused(() => acc.stepWithin(budget, 1e-5, 1.0, 0.3), 'budget_exceeded', /would spend ε 6\.3682 at δ 0\.00001, over the budget 6/);
  assert.equal(acc.rounds, rounds, 'a refused round is not recorded');
  assert.deepEqual(new RdpAccountant().spent(1e-5), { epsilon: 0, delta: 1e-5, order: NaN, rounds: 0 });
});

test('Out-of-range accountant inputs are refused, naming the valid range', () => {
  const acc = new RdpAccountant();
  refused(() => acc.step(1, 1.5), 'bad_config', /q in \[0, 1\], got 1\.5/);
  refused(() => acc.step(-1, 0.5), 'bad_config', /noise multiplier ≥ 0/);
  refused(() => acc.step(1, 0.5, 1.5), 'bad_config', /whole number of steps/);
  refused(() => acc.spent(0), 'bad_config', /δ in \(0, 1\)/);
  refused(() => computeRdp(0.5, 1, 1, [1]), 'bad_config', /orders > 1/);
});
