import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressMeter } from './progress-meter';

test('progress reports carry speed and ETA, and a log line is due at a phase start, each epoch end and once per interval', () => {
  let now = 0;
  const meter = new ProgressMeter(60_000, () => now);
  const at = (ms: number, epoch: number, done: number) => {
    now = ms;
    return meter.observe(3, 'fit', { epoch, epochs: 2, done, total: 100, loss: 0.5 });
  };
  // The first report of a round's training: due, speed not known yet.
  const first = at(0, 1, 4);
  assert.equal(first.due, true);
  assert.equal(first.report.imagesPerSecond, null);
  assert.equal(first.report.etaMs, null);
  // 10 s later, 20 more images: 2 images/s, 176 images left of 2 × 100 → 88 s. Not due within the minute.
  const second = at(10_000, 1, 24);
  assert.equal(second.due, false);
  assert.equal(second.report.imagesPerSecond, 2);
  assert.equal(second.report.etaMs, 88_000);
  assert.deepEqual([second.report.round, second.report.phase, second.report.epoch, second.report.epochs, second.report.done, second.report.total, second.report.loss], [3, 'fit', 1, 2, 24, 100, 0.5]);
  // A minute after the last line: due again.
  assert.equal(at(60_000, 1, 70).due, true);
  assert.equal(at(61_000, 1, 72).due, false);
  // The end of an epoch is always due; the second epoch counts on from the first.
  assert.equal(at(70_000, 1, 100).due, true);
  const e2 = at(80_000, 2, 20);
  assert.equal(e2.due, false);
  assert.equal(e2.report.imagesPerSecond, (120 - 4) / 80);
  // A new phase (evaluation) starts its own clock and is due at once.
  now = 90_000;
  const evaluate = meter.observe(3, 'evaluate', { epoch: 1, epochs: 1, done: 8, total: 40 });
  assert.equal(evaluate.due, true);
  assert.equal(evaluate.report.imagesPerSecond, null);
  assert.equal(evaluate.report.loss, undefined);
});
