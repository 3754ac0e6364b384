import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './log';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, honest, runToEnd } from './testing';
import { WaitingReporter, waitingSentence } from './waiting';

test('the waiting sentence names who is missing', () => {
  assert.equal(waitingSentence(3, ['h2'], ['h1', 'h2', 'h3']), 'waiting for 2 of 3 hospitals: h1, h3');
  assert.equal(waitingSentence(2, ['h2'], ['h3', 'h1', 'h2']), 'waiting for 1 of 2 hospitals, any of: h1, h3');
  assert.equal(waitingSentence(1, [], ['h1']), 'waiting for 1 of 1 hospital: h1');
  assert.equal(waitingSentence(3, ['h1'], ['h1', 'h2']), 'waiting for 2 of 3 hospitals: h2, but only 1 more is registered (fedxray coordinator add-hospital <name>)');
  assert.equal(waitingSentence(2, [], []), 'waiting for 2 of 2 hospitals; no other hospital is registered (fedxray coordinator add-hospital <name>)');
});

test('the reporter speaks when the wait starts, when who is connected changes, and again after repeatMs', () => {
  const lines: string[] = [];
  let now = 0;
  const r = new WaitingReporter(createLogger('pretty', (l) => lines.push(l)), () => ['a', 'b'], 1000, () => now);
  r.update(2, []);
  r.update(2, []);
  now = 500;
  r.update(2, ['a']);
  now = 1400;
  r.update(2, ['a']);
  now = 1600;
  r.update(2, ['a']);
  r.done();
  r.update(2, ['a']);
  assert.deepEqual(lines, [
    '[info] waiting for 2 of 2 hospitals: a, b\n',
    '[info] waiting for 1 of 2 hospitals: b connected=["a"]\n',
    '[info] waiting for 1 of 2 hospitals: b connected=["a"]\n',
    '[info] waiting for 1 of 2 hospitals: b connected=["a"]\n',
  ]);
});

test('a coordinator says who it waits for and ends with `run finished status=complete`; a stop is not an error', { timeout: 120_000 }, async () => {
  const lines: string[] = [];
  const logger = createLogger('pretty', (l) => lines.push(l));
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false, maxExamples: 1 } }), { logger });
  const good = fakeHospital(c.url, TOKENS.good, honest);
  await new Promise<void>((r) => c.on('hospital', (h) => h.event === 'joined' && r()));
  const bad = fakeHospital(c.url, TOKENS.bad, honest);
  const result = await runToEnd(c, good, bad);
  assert.equal(result.status, 'complete', result.error);
  const text = lines.join('');
  assert.match(text, /^\[info\] waiting for 2 of 2 hospitals, any of: bad, good, other\n/m);
  assert.match(text, /^\[info\] waiting for 1 of 2 hospitals, any of: bad, other connected=\["good"\]\n/m);
  assert.match(text, /^\[info\] run finished status=complete\n/m);
  assert.doesNotMatch(text, /undefined/);
  assert.match(text, /round completed round=1 accuracy=1 loss=0\.25 durationMs=\d+\n/);

  const stopping: string[] = [];
  const s = await Coordinator.start(config({ rounds: 1 }), { logger: createLogger('pretty', (l) => stopping.push(l)) });
  await s.stop();
  const stopped = stopping.join('');
  assert.match(stopped, /^\[info\] run finished status=stopped\n/m);
  assert.doesNotMatch(stopped, /\[error\]/);
});
