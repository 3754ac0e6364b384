import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchSecureAggregation } from '@fedxray/secure';
import { secureLines } from './secure-figures';

test('bench aggregate --secure reports masking, unmasking with and without a dropout, and bytes beside the plain time', () => {
  const report = benchSecureAggregation({ hospitals: 4, values: 2000 });
  assert.equal(report.exact, true);
  const text = secureLines(report, 12.5).join('\n');
  assert.match(text, /threshold 3 of 4\), same update size, sums exact/);
  assert.match(text, /a hospital: quantise \d+ ms \(\d+ ms CPU\), mask \d+ ms/);
  assert.match(text, /\d+ ms \(\d+ ms CPU\) with no dropout, \d+ ms \(\d+ ms CPU\) with one dropout .*plain aggregation above: 13 ms/);
  assert.match(text, new RegExp(`masked input ${report.bytes.maskedInput.toLocaleString('en-US')} vs plain float32 8,000`));
});
