import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './log';
import { prettyLine, readableNumber } from './log-format';

test('numbers at a readable precision: 4 significant digits, integers untouched', () => {
  assert.deepEqual(
    [0.1794871794871795, 1.2345678, 12.3456, 0.000123456, 1234.56, 42, -0.5, NaN].map(readableNumber),
    ['0.1795', '1.235', '12.35', 0.0001235.toString(), '1235', '42', '-0.5', 'NaN'],
  );
});

test('a pretty line leaves out undefined, null and empty fields, and rounds nested numbers', () => {
  assert.equal(prettyLine('info', 'run finished', { status: 'complete', error: undefined }), '[info] run finished status=complete');
  assert.equal(
    prettyLine('info', 'round completed', { round: 1, accuracy: 0.1794871794871795, loss: 1.3862943611198906, evaluationError: undefined, durationMs: 5230 }),
    '[info] round completed round=1 accuracy=0.1795 loss=1.386 durationMs=5230',
  );
  assert.equal(
    prettyLine('info', 'round aggregated', { ms: 12.345678, used: ['h1', 'h2'], discarded: [], sites: { h1: { accuracy: 0.66666666 } } }),
    '[info] round aggregated ms=12.35 used=["h1","h2"] sites={"h1":{"accuracy":0.6667}}',
  );
});

test('JSON lines keep full precision', () => {
  const lines: string[] = [];
  createLogger('json', (l) => lines.push(l)).log('info', 'round completed', { accuracy: 0.1794871794871795, error: undefined });
  const parsed = JSON.parse(lines[0]);
  assert.equal(parsed.accuracy, 0.1794871794871795);
  assert.equal('error' in parsed, false);
});
