import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { PROTOCOL_VERSION, decodeWeights, encodeWeights, type Ack, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';
import type { RoundResult, Strategy } from '@fedxray/aggregation';
import { Coordinator } from './coordinator';
import { TOKENS, config, fakeHospital, honest, type Behaviour } from './testing';

// reliability: A hospital sends a NaN or wrong-shape update | The update is refused with its code and recorded; the round aggregates the others | no | update refused: <code> in the coordinator log and the round's failed jobs
test('a NaN update and a wrong-shape update are refused and recorded; rounds go on without them', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config());
  const good = fakeHospital(c.url, TOKENS.good, honest);
  const bad = fakeHospital(c.url, TOKENS.bad, (round, fit) => {
    const w = decodeWeights(fit.weights as WeightsPayload);
    if (round === 1) w[3].values[0] = NaN;
    else w[5] = { ...w[5], shape: [w[5].values.length + 1], values: new Float32Array(w[5].values.length + 1) };
    return encodeWeights(w);
  });
  const result = await c.done;
  const events = c.store.events(c.runId).filter((e) => e.type === 'update_refused');
  await c.close();
  good.socket.disconnect();
  bad.socket.disconnect();
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(
    result.rounds.map((r) => r.fit.hospitals),
    [['good'], ['good']],
  );
  assert.deepEqual(
    bad.acks.map((a) => (a.ok ? 'ok' : a.error.code)),
    ['not_finite', 'shape_mismatch'],
  );
  assert.deepEqual(
    events.map((e) => e.data.code),
    ['not_finite', 'shape_mismatch'],
  );
  assert.ok(good.acks.every((a) => a.ok));
});

// reliability: Wrong, revoked or other-version token, or a second connection with one token | The handshake is refused before any job is sent | no | refused by the coordinator (<code>): … at the hospital, which stops retrying
test('wrong token, revoked token, another protocol version and a second connection are refused', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1 }));
  const registered = c.registry.add('st-marys');
  c.registry.remove('st-marys');
  const refusal = (token: string, version = PROTOCOL_VERSION) =>
    new Promise<{ code: string; message: string }>((resolve, reject) => {
      const s = connect(c.url, { transports: ['websocket'], auth: { token, protocolVersion: version }, reconnection: false });
      s.on('connect', () => {
        s.disconnect();
        reject(new Error('connected, but should have been refused'));
      });
      s.on('connect_error', (err: any) => {
        s.disconnect();
        resolve(err.data);
      });
    });
  try {
    assert.equal((await refusal('not-a-real-token-000000')).code, 'unauthorized');
    assert.equal((await refusal(registered)).code, 'revoked');
    const v = await refusal(TOKENS.good, PROTOCOL_VERSION + 1);
    assert.equal(v.code, 'bad_version');
    assert.match(v.message, /protocol version/);
    const first = connect(c.url, { transports: ['websocket'], auth: { token: TOKENS.good, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
    await new Promise<void>((r) => first.once('connect', () => r()));
    assert.equal((await refusal(TOKENS.good)).code, 'already_connected');
    first.disconnect();
  } finally {
    await c.stop();
  }
});

test('a malformed message is answered with an error, never thrown', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1 }));
  const s = connect(c.url, { transports: ['websocket'], auth: { token: TOKENS.good, protocolVersion: PROTOCOL_VERSION }, reconnection: false });
  try {
    await new Promise<void>((r) => s.once('connect', () => r()));
    const a1 = (await s.emitWithAck('hello', { software: 'x', classes: 'not-a-list' })) as Ack;
    assert.equal(a1.ok, false);
    assert.equal(!a1.ok && a1.error.code, 'bad_message');
    const a2 = (await s.emitWithAck('fitResult', { round: -1, weights: 'nope' })) as Ack;
    assert.equal(!a2.ok && a2.error.code, 'bad_message');
  } finally {
    s.disconnect();
    await c.stop();
  }
});

test('BatchNorm statistics are recalibrated: pooled mean and variance of what hospitals report', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, batchNormCalibration: { enabled: true, maxExamples: 64 } }));
  const reported: { name: string; examples: number; stats: Map<string, Float32Array> }[] = [];
  const calibrating = (token: string, name: string, examples: number, shift: number) => {
    const h = fakeHospital(c.url, token, honest, { examples: { train: examples, val: 2, test: 2 } });
    h.socket.on('calibrate', (msg: any) => {
      const w = decodeWeights(msg.weights as WeightsPayload).filter((t) => /\/moving_(mean|variance)$/.test(t.name));
      const stats = new Map<string, Float32Array>();
      for (const t of w) {
        t.values = t.values.map((_, k) => (t.name.endsWith('mean') ? shift + k * 0.01 : 1 + shift + k * 0.02));
        stats.set(t.name, t.values);
      }
      reported.push({ name, examples, stats });
      h.socket.emit('calibrateResult', { runId: msg.runId, round: msg.round, examples, durationMs: 1, stats: encodeWeights(w) }, () => {});
    });
    return h;
  };
  const a = calibrating(TOKENS.good, 'good', 30, 0.5);
  const b = calibrating(TOKENS.bad, 'bad', 10, -1);
  const result = await c.done;
  const global = c.globalWeights();
  await c.close();
  a.socket.disconnect();
  b.socket.disconnect();
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(result.rounds[0].fit.calibratedBy, ['bad', 'good']);
  const meanName = global.find((t) => t.name.endsWith('/moving_mean'))!.name;
  const varName = meanName.replace(/moving_mean$/, 'moving_variance');
  const g = new Map(global.map((t) => [t.name, t.values]));
  const [ra, rb] = [reported.find((r) => r.name === 'good')!, reported.find((r) => r.name === 'bad')!];
  for (const k of [0, 1, 3]) {
    const ma = ra.stats.get(meanName)![k];
    const mb = rb.stats.get(meanName)![k];
    const va = ra.stats.get(varName)![k];
    const vb = rb.stats.get(varName)![k];
    const mean = (30 * ma + 10 * mb) / 40;
    const variance = (30 * (va + ma * ma) + 10 * (vb + mb * mb)) / 40 - mean * mean;
    assert.ok(Math.abs(g.get(meanName)![k] - mean) < 1e-5, `mean[${k}]`);
    assert.ok(Math.abs(g.get(varName)![k] - variance) < 1e-5, `variance[${k}]`);
  }
});

test('updates decoded straight into the strategy’s memory aggregate to the example-weighted mean, round after round, the result written into the global of two rounds before', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 4 }));
  // the coordinator's strategy, watched: what each finish() was offered and whether it wrote there
  const strategy = (c as unknown as { strategy: Strategy }).strategy;
  const finish = strategy.finish.bind(strategy);
  const finished: { recycle?: NamedWeights; result: RoundResult }[] = [];
  strategy.finish = (options) => {
    const result = finish(options);
    finished.push({ recycle: options?.recycle, result });
    return result;
  };
  const seen = new Map<number, Float32Array[]>();
  const shifted = (delta: number): Behaviour => (round, fit) => {
    const w = decodeWeights(fit.weights as WeightsPayload);
    if (!seen.has(round)) seen.set(round, w.map((t) => Float32Array.from(t.values)));
    for (const t of w) for (let k = 0; k < t.values.length; k++) t.values[k] += delta;
    return encodeWeights(w);
  };
  const a = fakeHospital(c.url, TOKENS.good, shifted(0.002));
  const b = fakeHospital(c.url, TOKENS.bad, shifted(-0.004));
  const result = await c.done;
  await c.close();
  a.socket.disconnect();
  b.socket.disconnect();
  assert.equal(result.status, 'complete', result.error);
  // both trained on 10 examples: each round's global moves by the mean shift, -0.001
  for (let round = 2; round <= 4; round++) {
    const [before, after] = [seen.get(round - 1)!, seen.get(round)!];
    let worst = 0;
    for (let t = 0; t < before.length; t++) for (let k = 0; k < before[t].length; k++) worst = Math.max(worst, Math.abs(after[t][k] - (before[t][k] - 0.001)));
    assert.ok(worst < 1e-6 * 8, `round ${round}: largest difference from the mean ${worst}`);
  }
  assert.equal(finished.length, 4);
  assert.equal(finished[0].recycle, undefined, 'round 1 has nothing to recycle');
  for (let r = 1; r < 4; r++) {
    assert.equal(finished[r].result.recycled, true, `round ${r + 1} wrote into the global of two rounds before`);
    // round 2 recycles the initial global; round r + 1 the result of round r - 1
    if (r >= 2) assert.equal(finished[r].recycle, finished[r - 2].result.weights, `round ${r + 1} was offered round ${r - 1}'s result`);
  }
  // and the final model is the last round's, unharmed by the recycling
  const final = c.globalWeights();
  const last = seen.get(4)!;
  for (let t = 0; t < final.length; t++) for (let k = 0; k < last[t].length; k++) assert.ok(Math.abs(final[t].values[k] - (last[t][k] - 0.001)) < 1e-5, `${final[t].name}[${k}]`);
});

// reliability: A stranger reads the API or escapes a path (../, %2e%2e) | 401/404 before any file is opened | no | none needed: the stranger gets 401 or 404
test('the HTTP API and /metrics tell what happened, read-only, and refuse strangers and escapes', { timeout: 120_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 2, dashboardToken: 'dashboard-token-0123456789' }));
  const a = fakeHospital(c.url, TOKENS.good, honest);
  const b = fakeHospital(c.url, TOKENS.bad, honest);
  const result = await c.done;
  a.socket.disconnect();
  b.socket.disconnect();
  try {
    assert.equal(result.status, 'complete', result.error);
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${c.url}${path}`, init);
      return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
    };
    const json = async (path: string) => {
      const r = await get(path);
      assert.equal(r.status, 200, `${path}: ${r.text}`);
      assert.match(r.type, /application\/json/);
      return JSON.parse(r.text);
    };
    assert.deepEqual(await json('/api/health'), { ok: true, runId: c.runId });
    const state = await json('/api/state');
    assert.equal(state.run.id, c.runId);
    assert.equal(state.run.completedRounds, 2);
    assert.deepEqual(state.history.map((h: { round: number }) => h.round), [1, 2]);
    const runs = (await json('/api/runs')).runs;
    assert.ok(runs.some((r: { id: string }) => r.id === c.runId));
    assert.ok(runs.every((r: object) => !('config' in r)), 'the run list leaves out configurations');
    const rounds = (await json(`/api/runs/${c.runId}/rounds`)).rounds;
    assert.equal(rounds.filter((r: { status: string }) => r.status === 'complete').length, 2);
    const events = (await json(`/api/runs/${c.runId}/events`)).events;
    assert.ok(events.some((e: { type: string }) => e.type === 'round_started'), JSON.stringify(events.slice(0, 3)));
    // (these scripted hospitals never answer calibrate: each round's calibrations fail, and are listed)
    const failures = (await json(`/api/runs/${c.runId}/failures`)).failures;
    assert.ok(failures.length > 0 && failures.every((f: { phase: string }) => f.phase === 'calibrate'), JSON.stringify(failures));
    assert.deepEqual(failures, c.store.failedJobs(c.runId));
    const sites = (await json(`/api/runs/${c.runId}/sites`)).sites;
    assert.ok(sites.length > 0 && sites.every((s: { metrics: object }) => !('summary' in s.metrics)), 'per-site metrics without the raw summaries');
    assert.equal((await get('/api/runs/no-such-run')).status, 404);
    const hospitals = await json('/api/hospitals');
    assert.ok(Array.isArray(hospitals.hospitals) && Array.isArray(hospitals.registered));

    // Prometheus text: every sample line parses, and the figures are the run's
    const metrics = await get('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    const samples = new Map<string, number>();
    for (const line of metrics.text.trim().split('\n')) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      assert.ok(m, `not a sample line: ${line}`);
      samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
    }
    const run = `{run="${c.runId}"}`;
    assert.equal(samples.get(`fedxray_rounds_completed${run}`), 2);
    assert.equal(samples.get(`fedxray_rounds_planned${run}`), 2);
    assert.equal(samples.get('fedxray_updates_accepted_total'), 4);
    const refused = [...samples].filter(([k]) => k.startsWith('fedxray_updates_refused_total{'));
    assert.ok(refused.some(([k]) => k === 'fedxray_updates_refused_total{phase="fit",reason="not_finite"}'), 'every phase and reason has its sample');
    assert.equal(
      refused.reduce((s, [, v]) => s + v, 0),
      0,
    );
    assert.ok(samples.get('fedxray_weights_bytes_received_total')! > 0);
    const aggregation = samples.get(`fedxray_aggregation_seconds${run}`)!;
    assert.ok(aggregation > 0 && aggregation < 60, `aggregation ${aggregation} s`);
    assert.equal(samples.get(`fedxray_aggregation_memory_bytes${run}`), c.lastAggregation()!.retainedBytes);
    assert.equal(c.lastAggregation()!.round, 2);
    assert.equal(c.lastAggregation()!.updates, 2);

    // read-only, and no way out of the model directory
    assert.equal((await get('/api/state', { method: 'POST' })).status, 405);
    // summary.json sits beside the model directory: it exists, but not for /model/
    assert.ok(existsSync(join(c.modelDir()!, '..', 'summary.json')));
    assert.equal((await get('/model/..%2Fsummary.json')).status, 404);
    assert.equal((await get('/model/model.json')).status, 200);
    // local readers are trusted; anyone else needs the dashboard token
    const from = (address: string, host = '127.0.0.1:8080') => ({ address, host, forwarded: false });
    assert.equal(c.mayRead(from('127.0.0.1'), undefined), true);
    assert.equal(c.mayRead(from('::1', '[::1]:8080'), undefined), true);
    assert.equal(c.mayRead(from('192.0.2.7'), undefined), false);
    assert.equal(c.mayRead(from('192.0.2.7'), 'wrong-token-0123456789'), false);
    assert.equal(c.mayRead(from('192.0.2.7'), 'dashboard-token-0123456789'), true);
  } finally {
    await c.close();
  }
});

test('a hospital that withholds its training metrics contributes its update; the round records the others’ metrics only', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1 }));
  const open = fakeHospital(c.url, TOKENS.good, honest, { extra: { metrics: { loss: 2, accuracy: 0.25 } } });
  const quiet = fakeHospital(c.url, TOKENS.bad, honest, { withholdMetrics: true });
  const result = await c.done;
  await c.close();
  open.socket.disconnect();
  quiet.socket.disconnect();
  assert.equal(result.status, 'complete', result.error);
  const r = result.rounds[0];
  assert.deepEqual(r.fit.hospitals, ['bad', 'good'], 'both updates were used');
  assert.equal(r.fit.examples, 20);
  assert.deepEqual([r.fit.loss, r.fit.accuracy], [2, 0.25], 'the pooled training numbers are those that were reported');
  assert.deepEqual(Object.keys(r.fitSites), ['good'], 'no training numbers are recorded for the hospital that withheld them');
});
