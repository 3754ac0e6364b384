// What a hospital sends is checked where it arrives, with the owning library's
// checks: a bad answer fails that hospital's job (recorded, counted, shown), never the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWeights, encodeWeights, type WeightsPayload } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { TOKENS, assertHonestGlobal, config, fakeHospital, honest, inflated, shifted, twoPredictions, type CalibrateBehaviour } from './testing';

test('a schema-valid but inconsistent evaluation summary fails only that hospital’s evaluate job; the run completes on the others', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false } }));
  const good = fakeHospital(c.url, TOKENS.good, honest);
  const bad = fakeHospital(c.url, TOKENS.bad, honest, {
    evaluate: (msg) => {
      // confusion matrix and count agree, the schema is met, but class 0's histogram holds one positive too many
      const s = twoPredictions();
      if (msg.split === 'test') s.histograms[0][1][7] += 1;
      return s;
    },
  });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(result.rounds[0].fit.hospitals, ['bad', 'good'], 'both updates were used');
    assert.equal(result.final?.examples, 2, 'the final metrics are the good hospital’s two test images');
    assert.deepEqual(
      result.rounds[0].failedJobs.map((f) => [f.hospital, f.phase]),
      [['bad', 'evaluate']],
    );
    assert.match(result.rounds[0].failedJobs[0].error, /histograms\[0\]/);
    assert.equal(bad.resultAcks[0]?.ok, false, 'the hospital was told its summary was refused');
    const stored = c.store.failedJobs(c.runId);
    assert.deepEqual(
      stored.map((f) => [f.round, f.hospital, f.phase]),
      [[1, 'bad', 'evaluate']],
    );
    assert.equal(c.state().hospitals.find((h) => h.name === 'bad')?.failures, 1);
    const summary = JSON.parse(readFileSync(join(c.runDir, 'summary.json'), 'utf8'));
    assert.deepEqual(
      summary.failedJobs.map((f: { hospital: string; phase: string }) => [f.hospital, f.phase]),
      [['bad', 'evaluate']],
    );
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});

// reliability: a hospital sends an inflated but self-consistent evaluation summary (a million times its 2 declared test images, accuracy near 1) | the summary is refused (not capped: a count beyond what the hospital declared is a lie, as for updates and BatchNorm reports); the round's metrics pool the others | no | evaluation_refused naming the hospital; the dashboard's rounds table and report.md list the site's numbers as refused
test('forged metrics: a summary counting more test images than the hospital declared is refused, and shown as refused in the round record and report.md', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false } }));
  const good = fakeHospital(c.url, TOKENS.good, honest);
  const bad = fakeHospital(c.url, TOKENS.bad, honest, { evaluate: (msg) => (msg.split === 'test' ? inflated(1e6) : twoPredictions()) });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.equal(result.final?.examples, 2, 'the final metrics are the good hospital’s two test images');
    assert.deepEqual(bad.resultAcks.map((a) => (a.ok ? 'ok' : a.error.code)).slice(0, 1), ['bad_message']);
    const [round] = result.rounds;
    assert.deepEqual(Object.keys(round.sites), ['good']);
    assert.deepEqual(
      round.failedJobs.map((f) => [f.hospital, f.phase, f.refused]),
      [['bad', 'evaluate', true]],
    );
    assert.match(round.failedJobs[0].error, /Expected at most 2 test images \(what the hospital declared\), but the summary counts 2000000/);
    assert.deepEqual(
      c.store.events(c.runId).filter((e) => e.type === 'evaluation_refused').map((e) => [e.data.hospital, e.data.round, e.data.code]),
      [['bad', 1, 'bad_message']],
    );
    const summary = JSON.parse(readFileSync(join(c.runDir, 'summary.json'), 'utf8'));
    assert.equal(summary.rounds[0].failedJobs[0].refused, true);
    const report = readFileSync(join(c.runDir, 'report.md'), 'utf8');
    assert.match(report, /## Refused answers/);
    assert.match(report, /\| 1 \| bad \| evaluation numbers \| bad_message: Expected at most 2 test images .* counts 2000000 \|/);
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});

// reliability: A hospital claims more examples than it declared, to take over FedAvg | Its update is refused; the others are averaged exactly | no | update refused: example count above the declared images
test('an update claiming more examples than the hospital declared is refused, so it cannot take over FedAvg', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false } }));
  const refusals: { hospital: string; message: string }[] = [];
  c.on('updateRefused', (r) => refusals.push(r));
  const initial = c.globalWeights();
  const good = fakeHospital(c.url, TOKENS.good, honest);
  // declares 10 training images, claims 10¹² examples and sends a model far away
  const bad = fakeHospital(c.url, TOKENS.bad, shifted(1), { extra: { examples: 1e12 } });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(result.rounds[0].fit.hospitals, ['good']);
    assert.equal(bad.acks[0]?.ok, false);
    assert.match(JSON.stringify(bad.acks[0]), /1000000000000 examples.*declared 10 training images/);
    assert.deepEqual(
      refusals.map((r) => r.hospital),
      ['bad'],
    );
    assert.ok(c.store.events(c.runId).some((e) => e.type === 'update_refused' && e.data.hospital === 'bad'));
    assert.deepEqual(
      c.store.failedJobs(c.runId).map((f) => [f.hospital, f.phase]),
      [['bad', 'fit']],
    );
    // the global model is the good hospital's: every value moved by 0.001
    assertHonestGlobal(initial, c.globalWeights());
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});

// reliability: a hospital's BatchNorm report claims more images than it declared (10¹² of 10) | the report is refused by libs/model's checkBatchNormReport at intake; the others are pooled | no | calibration_refused naming the hospital (bad_message)
test('BatchNorm statistics from a hospital claiming more images than it declared are refused; the others are pooled', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: true, maxExamples: 64 } }));
  const reporting = (value: number, examples: number): CalibrateBehaviour => (msg) => {
    const stats = decodeWeights(msg.weights as WeightsPayload).filter((t) => /\/moving_(mean|variance)$/.test(t.name));
    for (const t of stats) t.values.fill(value);
    return { examples, stats: encodeWeights(stats) };
  };
  const good = fakeHospital(c.url, TOKENS.good, honest, { calibrate: reporting(0.25, 10) });
  const bad = fakeHospital(c.url, TOKENS.bad, honest, { calibrate: reporting(7, 1e12) });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(result.rounds[0].fit.calibratedBy, ['good']);
    assert.deepEqual(
      result.rounds[0].failedJobs.map((f) => [f.hospital, f.phase]),
      [['bad', 'calibrate']],
    );
    assert.match(result.rounds[0].failedJobs[0].error, /BatchNorm statistics over an integer number of images in \[1, 10\], but got 1000000000000/);
    assert.deepEqual(
      c.store.events(c.runId).filter((e) => e.type === 'calibration_refused').map((e) => [e.data.hospital, e.data.code]),
      [['bad', 'bad_message']],
    );
    for (const t of c.globalWeights().filter((w) => /\/moving_mean$/.test(w.name))) assert.ok(t.values.every((v) => Math.abs(v - 0.25) < 1e-6), t.name);
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});

test('an answer for the other split is stale, not wrong: the job waits for the answer it asked for', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false } }));
  const good = fakeHospital(c.url, TOKENS.good, honest);
  // a late answer to the round's test evaluation arrives while the validation split is asked for
  const late = fakeHospital(c.url, TOKENS.bad, honest, { evaluate: () => null });
  const acks: string[] = [];
  late.socket.on('evaluate', (msg: { runId: string; round: number; split: 'val' | 'test' }) => {
    const answer = (split: 'val' | 'test') =>
      new Promise<void>((resolve) =>
        late.socket.emit('evaluateResult', { runId: msg.runId, round: msg.round, split, summary: twoPredictions(), durationMs: 1 }, (a: { ok: boolean; error?: { code: string } }) => {
          acks.push(`${msg.split}:${split}:${a.ok ? 'ok' : a.error!.code}`);
          resolve();
        }),
      );
    void (msg.split === 'val' ? answer('test').then(() => answer('val')) : answer('test'));
  });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(acks, ['test:test:ok', 'val:test:stale_round', 'val:val:ok']);
    assert.deepEqual(c.store.failedJobs(c.runId), []);
  } finally {
    good.socket.disconnect();
    late.socket.disconnect();
    await c.close();
  }
});
