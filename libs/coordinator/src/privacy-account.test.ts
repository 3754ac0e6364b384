import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RdpAccountant } from '@fedxray/secure';
import { PrivacyAccount } from './privacy-account';

test('distributed DP: dropouts lower the accounted noise, and the budget check (assuming only the threshold of noise shares) stops the run before a round could exceed ε', () => {
  const account = new PrivacyAccount({ noiseMultiplier: 1, clip: 1, adaptiveClip: false, delta: 1e-5, epsilonBudget: 12 }, true, 1, 0);
  account.begin(4);
  const full = account.step(1, 4, 1);
  assert.equal(full.noiseMultiplier, 1);
  const dropped = account.step(2, 3, 1);
  assert.equal(dropped.noiseMultiplier, Math.sqrt(3 / 4), 'three of four noise shares: z·√(3/4)');
  const ref = new RdpAccountant();
  ref.step(1, 1);
  ref.step(Math.sqrt(3 / 4), 1);
  assert.ok(Math.abs(dropped.epsilon - ref.spent(1e-5).epsilon) < 1e-12);
  let round = 3;
  assert.throws(() => {
    for (; round < 100; round++) {
      account.checkBudget(round, 3);
      account.step(round, round % 2 === 0 ? 4 : 3, 1);
    }
  }, /would spend ε = \d+\.\d+ \(δ = 0\.00001\), above the privacy budget 12 if only 3 hospitals' noise shares arrive: the run stops here/);
  assert.ok(account.summary(true).dp!.epsilon <= 12, 'the budget was never exceeded');
  assert.equal(account.summary(true).dp!.rounds, round - 1);
});

test('a resumed run accounts the rounds it already completed', () => {
  const account = new PrivacyAccount({ noiseMultiplier: 1.2, clip: 1, adaptiveClip: false, delta: 1e-5 }, false, 0.5, 3);
  account.begin(2);
  const r = account.step(4, 2, 1);
  const ref = new RdpAccountant();
  ref.step(1.2, 0.5, 4);
  assert.ok(Math.abs(r.epsilon - ref.spent(1e-5).epsilon) < 1e-12);
});
