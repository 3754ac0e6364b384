import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchSecureAggregation } from './bench';

test('The benchmark runs both secure sums, checks them exactly and counts bytes per hospital', () => {
  const r = benchSecureAggregation({ hospitals: 4, values: 5000 });
  assert.equal(r.exact, true);
  assert.deepEqual([r.hospitals, r.values, r.threshold, r.graph], [4, 5000, 3, 'full']);
  assert.equal(r.bytes.plainFloat32, 20_000);
  // The masked input is the values plus the weight word, plus its message's few JSON bytes.
  assert.ok(r.bytes.maskedInput >= 20_004 && r.bytes.maskedInput < 20_004 + 100, `${r.bytes.maskedInput}`);
  assert.ok(r.bytes.ratio < 1.01);
  // Keys (2 × 32 bytes, out and for 3 neighbours in), 3 sealed boxes out and in, the unmask exchange.
  assert.ok(r.bytes.keysAndShares > 2 * 3 * 94 && r.bytes.keysAndShares < 4000, `${r.bytes.keysAndShares}`);
  for (const t of [r.quantise, r.mask, r.unmask.noDropout, r.unmask.oneDropout]) {
    assert.ok(t.wallMs >= 0 && Number.isFinite(t.wallMs) && t.cpuMs >= 0 && Number.isFinite(t.cpuMs));
  }
});
