// A hospital job that fails is visible: in the log, the store, the round record
// and summary.json; and a run whose final evaluation did not happen is not complete.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWeights, encodeWeights, type WeightsPayload } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { createLogger } from './log';
import { TOKENS, config, fakeHospital, honest, twoPredictions } from './testing';

function collectingLogger(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('pretty', (l) => lines.push(l)), lines };
}

test('a hospital whose evaluation fails: the failure is logged, stored and in summary.json; the run completes on the others', { timeout: 120_000 }, async () => {
  const { logger, lines } = collectingLogger();
  const c = await Coordinator.start(config({ rounds: 2, batchNormCalibration: { enabled: false } }), { logger });
  const failed: { hospital: string; phase: string }[] = [];
  c.on('jobFailed', (f) => failed.push(f));
  const good = fakeHospital(c.url, TOKENS.good, honest);
  // fails every evaluation of the test split (the validation split after the last round succeeds)
  const bad = fakeHospital(c.url, TOKENS.bad, honest, { evaluate: (m) => (m.split === 'test' ? { failure: 'Aborted()' } : twoPredictions()) });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(
      failed.map((f) => [f.hospital, f.phase]),
      [
        ['bad', 'evaluate'],
        ['bad', 'evaluate'],
      ],
    );
    assert.ok(
      lines.some((l) => /\[warn\] evaluate failed .*hospital=bad .*round=2 .*Aborted\(\)/.test(l)),
      lines.filter((l) => l.includes('failed')).join(''),
    );
    assert.deepEqual(
      c.store.failedJobs(c.runId).map((f) => [f.round, f.hospital, f.phase, f.error]),
      [
        [1, 'bad', 'evaluate', 'internal: Aborted()'],
        [2, 'bad', 'evaluate', 'internal: Aborted()'],
      ],
    );
    assert.deepEqual(result.rounds.map((r) => r.fit.used), [['bad', 'good'], ['bad', 'good']], 'its updates still count');
    const api = await (await fetch(`${c.url}/api/runs/${c.runId}/failures`)).json();
    assert.deepEqual(
      api.failures.map((f: { round: number; phase: string }) => [f.round, f.phase]),
      [
        [1, 'evaluate'],
        [2, 'evaluate'],
      ],
    );
    const summary = JSON.parse(readFileSync(join(c.runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'complete');
    assert.equal(summary.finalRound, 2);
    assert.deepEqual(
      summary.failedJobs.map((f: { round: number; hospital: string; phase: string }) => [f.round, f.hospital, f.phase]),
      [
        [1, 'bad', 'evaluate'],
        [2, 'bad', 'evaluate'],
      ],
    );
    assert.deepEqual(summary.rounds[1].failedJobs.map((f: { hospital: string }) => f.hospital), ['bad']);
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});

test('no valid summary in the last round’s evaluation: the run is not complete, and no earlier numbers pass for final ones', { timeout: 120_000 }, async () => {
  const { logger } = collectingLogger();
  // the initial model is evaluated (round 0), then every evaluation of round 1 fails
  const c = await Coordinator.start(config({ rounds: 1, evaluateInitial: true, batchNormCalibration: { enabled: false } }), { logger });
  const failing = (msg: { round: number }) => (msg.round === 0 ? twoPredictions() : { failure: 'Aborted()' });
  const a = fakeHospital(c.url, TOKENS.good, honest, { evaluate: failing });
  const b = fakeHospital(c.url, TOKENS.bad, honest, { evaluate: failing });
  try {
    const result = await c.done;
    assert.equal(result.status, 'failed');
    assert.match(result.error ?? '', /final evaluation \(round 1\) did not happen/);
    assert.equal(result.final, null);
    assert.equal(result.rounds[0].metrics, null);
    assert.match(result.rounds[0].evaluationError ?? '', /no hospital returned a valid summary/);
    const summary = JSON.parse(readFileSync(join(c.runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'failed');
    assert.equal(summary.final, null);
    assert.equal(summary.finalRound, null);
    assert.equal(summary.study.testAccuracy, null);
    assert.notEqual(summary.initial, null, 'the initial model’s numbers are there, as the initial ones');
    assert.ok(!existsSync(join(c.runDir, 'report.md')), 'no report presents the initial model as the result');
    assert.ok(existsSync(join(c.runDir, 'model', 'model.json')), 'the trained model is kept');
  } finally {
    a.socket.disconnect();
    b.socket.disconnect();
    await c.close();
  }
});

test('calibration and evaluation obey k of n: with more failed jobs than maxFailures, the averaged statistics are kept and the round has no metrics', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, minAvailable: 3, minFit: 3, maxFailures: 1, batchNormCalibration: { enabled: true, maxExamples: 64 } }));
  // one hospital answers calibrate and evaluate; two stay silent at calibration and fail every evaluation
  const answering = fakeHospital(c.url, TOKENS.good, honest, {
    calibrate: (msg) => {
      const stats = decodeWeights(msg.weights as WeightsPayload).filter((t) => /\/moving_(mean|variance)$/.test(t.name));
      for (const t of stats) t.values.fill(0.5);
      return { examples: 10, stats: encodeWeights(stats) };
    },
  });
  const failing = [TOKENS.bad, TOKENS.other].map((token) => fakeHospital(c.url, token, honest, { evaluate: () => ({ failure: 'out of memory' }) }));
  try {
    const result = await c.done;
    assert.equal(result.status, 'failed');
    const [round] = result.rounds;
    assert.deepEqual(round.fit.calibratedBy, [], 'one valid report of three is not pooled');
    assert.ok(c.globalWeights().filter((t) => t.name.endsWith('/moving_mean')).every((t) => t.values.some((v) => v !== 0.5)), 'the averaged statistics were kept');
    assert.equal(round.metrics, null);
    assert.equal(round.evaluationError, '2 of 3 evaluations failed, more than maxFailures=1');
    assert.deepEqual(
      round.failedJobs.map((f) => [f.hospital, f.phase]).sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0])),
      [
        ['bad', 'calibrate'],
        ['other', 'calibrate'],
        ['bad', 'evaluate'],
        ['other', 'evaluate'],
      ],
    );
  } finally {
    for (const h of [answering, ...failing]) h.socket.disconnect();
    await c.close();
  }
});
