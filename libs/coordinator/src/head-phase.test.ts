// Head calibration over real sockets: the last layer of the committed global
// model is the fit on the pooled class statistics of the hospitals whose
// reports passed the checks; a malformed report is refused and left out; a
// run where it cannot apply never asks for the statistics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWeights, encodeWeights, type Calibrate, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';
import { HEAD_OUT_BIAS, HEAD_OUT_KERNEL, addFeatures, emptyHeadStats, fitHeadOnStats, headStatsToNamed, poolHeadStats, type HeadStats } from '@fedxray/model';
import { mulberry32 } from '@fedxray/runtime';
import { createLogger } from './log';
import { Coordinator } from './coordinator';
import { CLASSES, TOKENS, config, fakeHospital, honest, runToEnd, type CalibrateBehaviour } from './testing';

const FEATURES = 8;
const HEAD = { units: FEATURES, dropout: 0 };

/** Statistics of `n` feature rows per listed class, class c centred on 2 in feature c. */
function siteStats(classes: number[], n: number, seed: number): HeadStats {
  const rand = mulberry32(seed);
  const s = emptyHeadStats(CLASSES.length, FEATURES);
  for (const c of classes) {
    const rows = Float64Array.from({ length: n * FEATURES }, (_, i) => (i % FEATURES === c ? 2 : 0) + rand() - 0.5);
    addFeatures(s, rows, new Int32Array(n).fill(c));
  }
  return s;
}

/** Answers a head-statistics request with `stats` (as edited), and records what it was asked for. */
function reportingHead(stats: HeadStats, asked: (Calibrate['target'] | undefined)[], edit: (w: NamedWeights) => NamedWeights = (w) => w): CalibrateBehaviour {
  return (msg) => {
    asked.push(msg.target);
    if (msg.target !== 'head') return null;
    return { examples: stats.counts.reduce((a, b) => a + b, 0), stats: encodeWeights(edit(headStatsToNamed(stats))) };
  };
}

const get = (w: NamedWeights, name: string) => w.find((t) => t.name === name)!.values;

/** The weights a fit carried, copied (decodeWeights gives views of the message, which `honest` then shifts in place). */
const copyOf = (payload: WeightsPayload): NamedWeights => decodeWeights(payload).map((t) => ({ ...t, values: t.values.slice() }));

// reliability: a hospital reports head statistics that do not add up (class counts beyond the images it declared, or not finite) | its report is refused (calibration_refused naming it); the last layer is fitted on the other hospitals' statistics | no | calibration_refused
test("the last round's committed last layer is the fit on the valid reports' pooled statistics; a report beyond what its hospital declared is refused", { timeout: 120_000 }, async () => {
  const head = { enabled: true, maxExamples: 64, samplesPerClass: 50, steps: 40, learningRate: 0.01 };
  const c = await Coordinator.start(
    config({ rounds: 2, minAvailable: 3, minFit: 3, maxFailures: 1, batchNormCalibration: { enabled: false, maxExamples: 64 }, headCalibration: head, model: { arch: 'densenet-tiny', imageSize: 16, classes: CLASSES, head: HEAD } }),
  );
  const initial = c.globalWeights();
  const a = siteStats([0, 1], 5, 1);
  const b = siteStats([1, 2], 4, 2);
  const asked: (Calibrate['target'] | undefined)[] = [];
  const sent: NamedWeights[] = [];
  const good = fakeHospital(c.url, TOKENS.good, (r, fit) => (sent.push(copyOf(fit.weights as WeightsPayload)), honest(r, fit)), { calibrate: reportingHead(a, asked) });
  const other = fakeHospital(c.url, TOKENS.other, honest, { calibrate: reportingHead(b, asked) });
  // 11 images of class 0 from a hospital that declared 10
  const liar = fakeHospital(c.url, TOKENS.bad, honest, { calibrate: reportingHead(siteStats([0], 11, 3), asked) });
  const result = await c.done;
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(asked, ['head', 'head', 'head'], 'with BatchNorm calibration off, only the head statistics are asked for, in the last round only');
  assert.equal(result.rounds[0].fit.headCalibratedBy, undefined);
  assert.deepEqual(result.rounds[1].fit.headCalibratedBy, ['good', 'other']);
  const refused = c.store.events(c.runId).filter((e) => e.type === 'calibration_refused');
  assert.equal(refused.length, 1);
  assert.match(JSON.stringify(refused[0]), /bad[\s\S]*1\.\.10 images, got 11/);
  // what the coordinator must have computed: round 2's FedAvg of three +0.001 updates of the model it sent, then the fit on good's and other's sums
  const shift = (v: Float32Array) => v.map((x) => x + 0.001);
  const want = fitHeadOnStats(shift(get(sent[1], HEAD_OUT_KERNEL)), shift(get(sent[1], HEAD_OUT_BIAS)), poolHeadStats([a, b]), { ...head, seed: 42 * 1000 + 2, output: 'softmax' });
  const global = c.globalWeights();
  // the coordinator averages in float32 and Adam amplifies that rounding a little: 1e-4, against a move of ~0.3
  const close = (x: Float32Array, y: Float32Array) => x.every((v, i) => Math.abs(v - y[i]) < 1e-4);
  assert.ok(close(get(global, HEAD_OUT_KERNEL), want.kernel), 'the last layer is the fit on the pooled statistics');
  assert.ok(close(get(global, HEAD_OUT_BIAS), want.bias));
  assert.ok(!close(get(global, HEAD_OUT_BIAS), shift(get(sent[1], HEAD_OUT_BIAS))), 'and not the averaged one');
  assert.ok(close(get(sent[1], HEAD_OUT_BIAS), get(initial, HEAD_OUT_BIAS).map((x) => x + 0.001)), 'round 1 kept the averaged layer');
  // every other tensor is the plain average
  assert.ok(close(get(global, 'dense/kernel'), shift(get(sent[1], 'dense/kernel'))));
  await runToEnd(c, good, other, liar);
});

test("with rounds: 'every' each round's last layer is recalibrated, and the next round trains from it", { timeout: 120_000 }, async () => {
  const head = { enabled: true, maxExamples: 64, samplesPerClass: 20, steps: 10, learningRate: 0.01, rounds: 'every' as const };
  const c = await Coordinator.start(config({ rounds: 2, batchNormCalibration: { enabled: false, maxExamples: 64 }, headCalibration: head, model: { arch: 'densenet-tiny', imageSize: 16, classes: CLASSES, head: HEAD } }));
  const asked: (Calibrate['target'] | undefined)[] = [];
  const stats = siteStats([0, 1, 2], 3, 6);
  const sent: NamedWeights[] = [];
  const h1 = fakeHospital(c.url, TOKENS.good, (r, fit) => (sent.push(copyOf(fit.weights as WeightsPayload)), honest(r, fit)), { calibrate: reportingHead(stats, asked) });
  const h2 = fakeHospital(c.url, TOKENS.other, honest, { calibrate: reportingHead(stats, asked) });
  const result = await c.done;
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(result.rounds.map((r) => r.fit.headCalibratedBy), [['good', 'other'], ['good', 'other']]);
  assert.equal(asked.length, 4);
  const shift = (v: Float32Array) => v.map((x) => x + 0.001);
  const round1 = fitHeadOnStats(shift(get(sent[0], HEAD_OUT_KERNEL)), shift(get(sent[0], HEAD_OUT_BIAS)), poolHeadStats([stats, stats]), { ...head, seed: 42 * 1000 + 1, output: 'softmax' });
  assert.ok(get(sent[1], HEAD_OUT_BIAS).every((v, i) => Math.abs(v - round1.bias[i]) < 1e-5), 'round 2 trains from the recalibrated layer');
  await runToEnd(c, h1, h2);
});

test('no head statistics are asked for, and the log says why, under a robust strategy or with --head-calibration off', { timeout: 120_000 }, async () => {
  for (const [over, why] of [
    [{ strategy: { name: 'fedmedian' }, headCalibration: { enabled: true } }, /Head calibration skipped in this run: fedmedian is a robust strategy/],
    [{ headCalibration: { enabled: false } }, null],
  ] as const) {
    const lines: string[] = [];
    const c = await Coordinator.start(
      config({ rounds: 1, minAvailable: 2, minFit: 2, batchNormCalibration: { enabled: false, maxExamples: 64 }, model: { arch: 'densenet-tiny', imageSize: 16, classes: CLASSES, head: HEAD }, ...over }),
      { logger: createLogger('pretty', (l) => lines.push(l)) },
    );
    const asked: (Calibrate['target'] | undefined)[] = [];
    const stats = siteStats([0, 1, 2], 3, 4);
    const h1 = fakeHospital(c.url, TOKENS.good, honest, { calibrate: reportingHead(stats, asked) });
    const h2 = fakeHospital(c.url, TOKENS.other, honest, { calibrate: reportingHead(stats, asked) });
    const result = await runToEnd(c, h1, h2);
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(asked, []);
    assert.equal(result.rounds[0].fit.headCalibratedBy, undefined);
    if (why) assert.ok(lines.some((l) => why.test(l)), lines.join('\n'));
    else assert.ok(!lines.some((l) => /Head calibration/.test(l)));
  }
});

test('a report with a non-finite value or a class that adds up wrong is refused at intake', async () => {
  const { checkHeadCalibration } = await import('./intake');
  const s = siteStats([0, 2], 3, 5);
  const msg = (w: NamedWeights, examples = 6) => ({ runId: 'r', round: 1, examples, durationMs: 1, stats: encodeWeights(w) });
  const named = headStatsToNamed(s);
  assert.equal(checkHeadCalibration(msg(named), { classes: 3, features: FEATURES, maxExamples: 6 }).counts[2], 3);
  assert.throws(() => checkHeadCalibration(msg(named, 5), { classes: 3, features: FEATURES, maxExamples: 6 }), /add up to 6 images, but the report says 5/);
  const nan = named.map((t) => (t.name === 'head/sum' ? { ...t, values: t.values.map((v, i) => (i === 3 ? NaN : v)) } : t));
  assert.throws(() => checkHeadCalibration(msg(nan), { classes: 3, features: FEATURES, maxExamples: 6 }), /Head statistics refused: head\/sum\[3\] is not finite/);
  assert.throws(() => checkHeadCalibration(msg(named), { classes: 3, features: FEATURES + 1, maxExamples: 6 }), /head\/sum of shape \[3, 9\]/);
});
