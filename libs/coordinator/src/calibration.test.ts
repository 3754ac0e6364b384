// A hospital that lies about its BatchNorm statistics cannot set the global
// ones under a robust strategy, and the statistics do not count towards the
// update norm bound (so honest updates are not refused after calibration).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWeights, encodeWeights, type WeightsPayload } from '@fedxray/protocol';
import { calibrationPooling } from './calibrate';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, type Behaviour, type CalibrateBehaviour } from './testing';

const isStat = (name: string) => /\/moving_(mean|variance)$/.test(name);

/** Trains a little (+0.001 on every trainable weight) and brings back the moving statistics its data gave: far from the global's. */
const measuring: Behaviour = (_r, fit) => {
  const w = decodeWeights(fit.weights as WeightsPayload);
  for (const t of w) {
    if (t.name.endsWith('/moving_mean')) t.values.fill(5);
    else if (t.name.endsWith('/moving_variance')) t.values.fill(4);
    else for (let k = 0; k < t.values.length; k++) t.values[k] += 0.001;
  }
  return encodeWeights(w);
};

/** Reports every channel's mean and variance as these numbers, over `examples` images. */
function reporting(mean: number, variance: number, examples = 10): CalibrateBehaviour {
  return (msg) => {
    const stats = decodeWeights(msg.weights as WeightsPayload).filter((t) => isStat(t.name));
    for (const t of stats) t.values.fill(t.name.endsWith('/moving_mean') ? mean : variance);
    return { examples, stats: encodeWeights(stats) };
  };
}

test('BatchNorm statistics are pooled robustly under a robust strategy (trimmed mean with its β, else the median), exactly otherwise', () => {
  assert.deepEqual(calibrationPooling({ name: 'fedavg' }), { pooling: 'exact' });
  assert.deepEqual(calibrationPooling({ name: 'fedadam', maxWeight: 0.5 }), { pooling: 'exact' });
  assert.deepEqual(calibrationPooling({ name: 'fedmedian' }), { pooling: 'median' });
  assert.deepEqual(calibrationPooling({ name: 'krum', byzantine: 1 }), { pooling: 'median' });
  assert.deepEqual(calibrationPooling({ name: 'multikrum' }), { pooling: 'median' });
  assert.deepEqual(calibrationPooling({ name: 'fedtrimmedavg' }), { pooling: 'trimmed-mean', trimFraction: 0.2 });
  assert.deepEqual(calibrationPooling({ name: 'fedtrimmedavg', beta: 0.1 }), { pooling: 'trimmed-mean', trimFraction: 0.1 });
});

// reliability: a hospital reports poisoned BatchNorm statistics (mean 50, variance 1e-6) under FedMedian with --max-update-norm | the global statistics are the median of the sites' (the honest ones); honest updates stay under the norm bound, which counts trainable weights only | no | none for the poisoned report (it is outvoted); a malformed report: calibration_refused naming the hospital
test('a poisoned BatchNorm report is outvoted under FedMedian, honest updates are not refused by the norm bound, and a malformed report is a calibration_refused event', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(
    config({ rounds: 2, minAvailable: 3, minFit: 3, strategy: { name: 'fedmedian' }, maxUpdateNorm: 1, batchNormCalibration: { enabled: true, maxExamples: 64 } }),
  );
  const honestA = fakeHospital(c.url, TOKENS.good, measuring, { calibrate: reporting(5, 4) });
  const honestB = fakeHospital(c.url, TOKENS.other, measuring, { calibrate: reporting(5.2, 4) });
  // round 1: mean 50, variance 1e-6 over the images it declared; round 2: a negative variance
  const liar = fakeHospital(c.url, TOKENS.bad, measuring, { calibrate: (msg) => reporting(50, msg.round === 1 ? 1e-6 : -1)(msg) });
  let afterRound1: ReturnType<typeof c.globalWeights> = [];
  c.on('roundEnd', (r) => {
    if (r.round === 1) afterRound1 = c.globalWeights();
  });
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    assert.deepEqual(
      result.rounds.map((r) => r.fit.hospitals),
      [
        ['bad', 'good', 'other'],
        ['bad', 'good', 'other'],
      ],
      'no update was refused by the norm bound',
    );
    assert.deepEqual(
      [...honestA.acks, ...honestB.acks].map((a) => a.ok),
      [true, true, true, true],
    );
    assert.deepEqual(result.rounds[0].fit.calibratedBy, ['bad', 'good', 'other'], 'the lie is well-formed: it is pooled, and outvoted');
    const stats = afterRound1.filter((t) => isStat(t.name));
    assert.ok(stats.length > 0);
    for (const t of stats) {
      // median of the means 5, 5.2, 50; median of vᵢ + (mᵢ − 5.2)²: 4.04, 4, 2007
      const [lo, hi] = t.name.endsWith('/moving_mean') ? [5, 5.2] : [4, 4.05];
      assert.ok(t.values.every((v) => v >= lo - 1e-5 && v <= hi + 1e-5), `${t.name}: ${t.values.slice(0, 3).join(', ')}`);
    }
    assert.deepEqual(result.rounds[1].fit.calibratedBy, ['good', 'other']);
    const refused = c.store.events(c.runId).filter((e) => e.type === 'calibration_refused');
    assert.deepEqual(
      refused.map((e) => [e.data.hospital, e.data.round, e.data.code]),
      [['bad', 2, 'bad_weights']],
    );
    assert.match(String(refused[0].data.message), /expected a variance ≥ 0/);
  } finally {
    for (const h of [honestA, honestB, liar]) h.socket.disconnect();
    await c.close();
  }
});
