// Every kind of refusal is written down twice: a store event naming the
// hospital (update_refused, calibration_refused, evaluation_refused) and an
// increment of fedxray_updates_refused_total{phase, reason}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWeights, encodeWeights, type WeightsPayload } from '@fedxray/protocol';
import type { Strategy } from '@fedxray/aggregation';
import { Coordinator } from './coordinator';
import { prometheusText } from './metrics';
import { REFUSAL_CODES, REFUSAL_EVENTS } from './refusals';
import { TOKENS, assertHonestGlobal, config, fakeHospital, honest, inflated, shifted, twoPredictions, type Behaviour, type CalibrateBehaviour, type FakeOptions } from './testing';

type Code = (typeof REFUSAL_CODES)[number];

/** Changes the update a hospital sends back (after training honestly). */
function broken(change: (w: ReturnType<typeof decodeWeights>) => void): Behaviour {
  return (round, fit) => {
    const w = decodeWeights(honest(round, fit) as WeightsPayload);
    change(w);
    return encodeWeights(w);
  };
}

/** A fit answer refused with each code (the coordinator runs with maxUpdateNorm 1). */
const FIT: Record<Code, { behaviour: Behaviour; options?: FakeOptions }> = {
  bad_message: { behaviour: honest, options: { extra: { examples: -1 } } },
  bad_weights: { behaviour: (r, fit) => ({ ...honest(r, fit)!, byteLength: 4 }) },
  checksum_mismatch: { behaviour: (r, fit) => ({ ...honest(r, fit)!, checksum: 12345 }) },
  shape_mismatch: { behaviour: broken((w) => w.pop()) },
  not_finite: { behaviour: broken((w) => (w[2].values[0] = NaN)) },
  norm_exceeded: { behaviour: shifted(0.5) },
};

/** BatchNorm statistics refused with each code that applies to them (no norm bound). */
const CALIBRATE: Partial<Record<Code, CalibrateBehaviour>> = {
  bad_message: report((stats) => stats, 1e12),
  bad_weights: report((stats) => stats.find((t) => t.name.endsWith('/moving_variance'))!.values.fill(-1)),
  checksum_mismatch: (msg) => ({ ...report((s) => s)(msg)!, stats: { ...report((s) => s)(msg)!.stats, checksum: 12345 } }),
  shape_mismatch: report((stats) => (stats[0] = { ...stats[0], shape: [stats[0].values.length + 1], values: new Float32Array(stats[0].values.length + 1) })),
  not_finite: report((stats) => (stats[0].values[0] = Infinity)),
};

function report(change: (stats: ReturnType<typeof decodeWeights>) => unknown, examples = 10): CalibrateBehaviour {
  return (msg) => {
    const stats = decodeWeights(msg.weights as WeightsPayload).filter((t) => /\/moving_(mean|variance)$/.test(t.name));
    change(stats);
    return { examples, stats: encodeWeights(stats) };
  };
}

/** fedxray_updates_refused_total's samples: `phase/reason` → value. */
function refusedSamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^fedxray_updates_refused_total\{phase="(\w+)",reason="(\w+)"\} (\S+)$/gm)) out.set(`${m[1]}/${m[2]}`, Number(m[3]));
  return out;
}

// reliability: a hospital sends a broken answer of each refusal kind (schema, bad payload size, checksum, shapes, NaN, norm; broken BatchNorm statistics; an inflated evaluation summary) | each answer is refused with its code and the round goes on without it | no | update_refused, calibration_refused or evaluation_refused naming the hospital and the code, and fedxray_updates_refused_total{phase,reason}
test('every refusal kind gets a store event naming the hospital and an increment of fedxray_updates_refused_total{phase, reason}', { timeout: 120_000 }, async () => {
  const names = REFUSAL_CODES.map((code) => `h-${code}`);
  const tokens = Object.fromEntries([['good', TOKENS.good], ...names.map((n, i) => [n, `refusal-token-${i}-0123456789`])]);
  const n = names.length + 1;
  const c = await Coordinator.start(
    config({ rounds: 1, minAvailable: n, minFit: n, maxFailures: n - 1, maxUpdateNorm: 1, staticTokens: tokens, batchNormCalibration: { enabled: true, maxExamples: 64 } }),
  );
  const hospitals = [
    fakeHospital(c.url, TOKENS.good, honest, { calibrate: report(() => undefined) }),
    ...REFUSAL_CODES.map((code, i) =>
      fakeHospital(c.url, tokens[names[i]], FIT[code].behaviour, {
        ...FIT[code].options,
        calibrate: CALIBRATE[code] ?? report(() => undefined),
        evaluate: code === 'bad_message' ? (msg) => (msg.split === 'test' ? inflated(1e6) : twoPredictions()) : undefined,
      }),
    ),
  ];
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    const [round] = result.rounds;
    assert.deepEqual(round.fit.hospitals, ['good']);
    assert.equal(round.metrics?.examples, 2 * names.length, 'the inflated summary was left out');

    const expected = new Map<string, string>(); // phase/reason → hospital
    for (const code of REFUSAL_CODES) expected.set(`fit/${code}`, `h-${code}`);
    for (const code of Object.keys(CALIBRATE)) expected.set(`calibrate/${code}`, `h-${code}`);
    expected.set('evaluate/bad_message', 'h-bad_message');

    const events = c.store.events(c.runId);
    for (const [key, hospital] of expected) {
      const [phase, code] = key.split('/') as ['fit' | 'calibrate' | 'evaluate', string];
      const found = events.filter((e) => e.type === REFUSAL_EVENTS[phase] && e.data.code === code);
      assert.deepEqual(
        found.map((e) => [e.data.hospital, e.data.round]),
        [[hospital, 1]],
        `${REFUSAL_EVENTS[phase]} ${code}`,
      );
    }
    const samples = refusedSamples(prometheusText(c));
    for (const phase of ['fit', 'calibrate', 'evaluate']) {
      for (const code of REFUSAL_CODES) assert.equal(samples.get(`${phase}/${code}`), expected.has(`${phase}/${code}`) ? 1 : 0, `${phase}/${code}`);
    }
    assert.equal(c.counts().updatesRefused, REFUSAL_CODES.length);
    assert.deepEqual(
      round.failedJobs.filter((f) => !f.refused),
      [],
      'every failed job of the round was a refusal, and is marked so',
    );
  } finally {
    for (const h of hospitals) h.socket.disconnect();
    await c.close();
  }
});

// reliability: an update with a NaN that only the aggregation library catches (while folding, at finish) | the strategy leaves it out of the global model; the coordinator takes it as the hospital's failed fit job (never credited) | no | update_refused naming the hospital (not_finite) and fit_failed
test('an update the strategy refuses at finish (RoundResult.refused) is a refused, failed fit job of its hospital, never credited', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: false } }));
  // a NaN that slips past the coordinator's own check reaches the strategy, which refuses it while folding
  const strategy = (c as unknown as { strategy: Strategy }).strategy;
  const accumulate = strategy.accumulate.bind(strategy);
  strategy.accumulate = (u) => {
    if (u.hospitalId === 'bad') u.weights[3].values[0] = NaN;
    accumulate(u);
  };
  const initial = c.globalWeights();
  const good = fakeHospital(c.url, TOKENS.good, honest);
  const bad = fakeHospital(c.url, TOKENS.bad, shifted(1));
  try {
    const result = await c.done;
    assert.equal(result.status, 'complete', result.error);
    const [round] = result.rounds;
    assert.deepEqual([round.fit.hospitals, round.fit.used, round.fit.discarded], [['good'], ['good'], []]);
    assert.deepEqual(
      round.fit.failures.map((f) => f.name),
      ['bad'],
    );
    assert.deepEqual(
      round.failedJobs.map((f) => [f.hospital, f.phase, f.refused]),
      [['bad', 'fit', true]],
    );
    assert.match(round.failedJobs[0].error, /^not_finite: .*bad/);
    assert.deepEqual(
      c.store.events(c.runId).filter((e) => e.type === 'update_refused').map((e) => [e.data.hospital, e.data.code]),
      [['bad', 'not_finite']],
    );
    assert.equal(refusedSamples(prometheusText(c)).get('fit/not_finite'), 1);
    const st = c.state().hospitals.sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(
      st.map((h) => [h.name, h.roundsContributed, h.failures]),
      [
        ['bad', 0, 1],
        ['good', 1, 0],
      ],
    );
    // the global model is the good hospital's update alone
    assertHonestGlobal(initial, c.globalWeights());
  } finally {
    good.socket.disconnect();
    bad.socket.disconnect();
    await c.close();
  }
});
