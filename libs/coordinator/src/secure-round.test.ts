// Secure aggregation and DP in a real round over sockets: the coordinator runs
// the stages, survives dropouts after the key exchange (Shamir), fails a round
// with too few survivors cleanly, refuses plain updates, receives nothing that
// looks like any hospital's update, and accounts ε.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWeights, type Fit, type WeightsPayload } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import type { Logger } from './log';
import { HEAD_OUT_BIAS, HEAD_OUT_KERNEL, batchNormChannels, fitHeadOnStats, poolHeadStats, type HeadStats } from '@fedxray/model';
import { fakeHeadStats, secureFake, type ChannelStatsOf, type SecureDrop, type SecureFake } from './secure-testing';
import { CLASSES, config, fakeHospital, honest, twoPredictions } from './testing';

const NAMES = ['h1', 'h2', 'h3', 'h4', 'h5'];
const TOKENS = Object.fromEntries(NAMES.map((n) => [n, `${n}-token-0123456789abcdef`]));

/** A hospital's delta: value i of hospital k is a fixed pseudo-random number in ±0.01. */
function deltaOf(k: number) {
  return (n: number) => Float64Array.from({ length: n }, (_, i) => (((i * 7919 + k * 104_729) % 2001) - 1000) / 1e5);
}

function capture(): { logger: Logger; lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  return { lines, logger: { log: (level, msg, fields) => lines.push({ level, msg, fields }) } };
}

async function secureRun(drops: SecureDrop[], overrides: Record<string, unknown> = {}, calibration?: (k: number) => ChannelStatsOf) {
  const log = capture();
  const c = await Coordinator.start(
    config({ rounds: 1, minAvailable: drops.length, minFit: drops.length, maxFailures: 2, maxRoundAttempts: 1, batchNormCalibration: { enabled: false }, heartbeatIntervalMs: 1000, heartbeatMisses: 20, staticTokens: TOKENS, secureAggregation: { enabled: true, stageTimeoutMs: 1500 }, ...overrides }),
    { logger: log.logger },
  );
  let initial: Fit | null = null;
  const fakes: SecureFake[] = drops.map((drop, k) => secureFake(c.url, TOKENS[NAMES[k]], { train: 10 + 5 * k, update: deltaOf(k), drop, seed: k + 1, calibration: calibration?.(k) }));
  fakes[0].socket.on('fit', (msg: Fit) => (initial ??= msg));
  const result = await c.done;
  const global = result.status === 'complete' ? c.globalWeights() : null;
  // what the dashboard and the API see once the run is over
  const api = (await (await fetch(`${c.url}/api/state`)).json()) as { privacy: unknown };
  for (const f of fakes) f.socket.disconnect();
  await c.close();
  return { result, fakes, initial: initial ? decodeWeights((initial as Fit).weights as WeightsPayload) : null, global, lines: log.lines, runDir: result.runDir, api };
}

/** The example-weighted mean of the deltas of hospitals `ks`. */
function expectedMean(ks: number[], n: number): Float64Array {
  const w = ks.map((k) => 10 + 5 * k);
  const total = w.reduce((a, b) => a + b, 0);
  const out = new Float64Array(n);
  ks.forEach((k, j) => deltaOf(k)(n).forEach((v, i) => (out[i] += (v * w[j]) / total)));
  return out;
}

// reliability: a hospital drops out of a secure sum after the key exchange, another before unmasking | its pairwise masks are rebuilt from Shamir shares; the round aggregates the others exactly | no | warn: secure aggregation: hospital dropped / no unmask answer
test('a secure round with one hospital dropped after the key exchange and one silent at unmasking aggregates the survivors exactly (Shamir recovery)', { timeout: 60_000 }, async () => {
  const { result, initial, global, api } = await secureRun(['none', 'none', 'fail-fit', 'skip-unmask', 'none']);
  assert.equal(result.status, 'complete', result.error ?? undefined);
  assert.deepEqual(api.privacy, { secureAggregation: true, dp: null }, '/api/state says the updates were summed');
  const fit = result.rounds[0].fit;
  assert.deepEqual(fit.hospitals, ['h1', 'h2', 'h4', 'h5'], 'h4 sent its masked input, so it is in the sum though it never answered the unmask request');
  assert.deepEqual(fit.failures.map((f) => f.name), ['h3']);
  assert.deepEqual(result.rounds[0].fitSites, {}, 'no per-hospital training numbers');
  assert.equal(fit.examples, 10 + 15 + 25 + 30, 'the pooled example count is the summed weight');
  assert.ok(Math.abs(fit.loss - 1) < 1e-6 && Math.abs(fit.accuracy - 0.5) < 1e-6, 'pooled training loss and accuracy (each hospital reported 1 and 0.5) through the sum');
  const n = initial!.reduce((s, t) => s + t.values.length, 0);
  const mean = expectedMean([0, 1, 3, 4], n);
  let at = 0;
  let worst = 0;
  for (const t of initial!) {
    const g = global!.find((x) => x.name === t.name)!;
    for (let i = 0; i < t.values.length; i++) worst = Math.max(worst, Math.abs(g.values[i] - (t.values[i] + mean[at + i])));
    at += t.values.length;
  }
  // float32 storage of the global model (values ~1) dominates the fixed point's 5 hospitals × 1/s ≈ 2.3e-9.
  assert.ok(worst < 2e-6, `aggregate within float32 and fixed-point error of plain FedAvg (worst ${worst})`);
});

// reliability: too many hospitals drop out of a secure sum | the round fails and is retried under k of n; no mask is removed | no | round failed: the secure sum failed: … the threshold is 2
test('with fewer survivors than the threshold the secure round fails cleanly', { timeout: 60_000 }, async () => {
  const { result, lines } = await secureRun(['none', 'fail-fit', 'fail-fit'], { maxFailures: 3 });
  assert.equal(result.status, 'failed');
  assert.match(result.error ?? '', /Round 1 failed 1 times/);
  const failed = lines.find((l) => l.msg === 'summed round failed');
  assert.match(String(failed?.fields?.error), /the secure sum failed: .*threshold is 2/);
});

test('audit: what the coordinator receives in a secure round is indistinguishable from random; the sum is exact', { timeout: 60_000 }, async () => {
  const { result, fakes, initial, global } = await secureRun(['none', 'none', 'none']);
  assert.equal(result.status, 'complete', result.error ?? undefined);
  for (const f of fakes) {
    const { plain, masked } = f.inputs[0];
    const words = new Uint32Array(masked.slice().buffer);
    const n = words.length;
    assert.ok(n > 5000, 'enough words for the statistics');
    // 1. no word equals the plain word beyond chance (expected n/2³² ≈ 0)
    let equal = 0;
    for (let i = 0; i < n; i++) if (words[i] === plain[i]) equal++;
    assert.ok(equal <= 2, `${equal} masked words equal the plain ones`);
    // 2. decoded as the fixed point it hides, the masked update is nowhere near the plain one
    const asReal = (w: number) => (w | 0) / 2 ** 31;
    let dist = 0;
    let norm = 0;
    let sxy = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      const x = asReal(words[i]);
      const y = asReal(plain[i]);
      dist += (x - y) ** 2;
      norm += y * y;
      sx += x;
      sy += y;
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
    }
    assert.ok(dist > 1000 * norm, 'the masked vector is far from the plain update');
    const r = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
    assert.ok(Math.abs(r) < 5 / Math.sqrt(n), `correlation with the plain update ${r} (5σ bound ${5 / Math.sqrt(n)})`);
    // 3. uniform: χ² of the top 4 bits over 16 bins below the 0.1 % critical value (df 15: 37.70)
    const bins = new Array(16).fill(0);
    for (let i = 0; i < n; i++) bins[words[i] >>> 28]++;
    const chi = bins.reduce((s, b) => s + (b - n / 16) ** 2 / (n / 16), 0);
    assert.ok(chi < 37.7, `χ² ${chi}`);
    // 4. its evaluation summaries went masked too (mostly zero counts underneath, uniform words on the wire)
    const summaries = f.sent.filter((m) => m.event === 'evaluateResult');
    assert.ok(summaries.length > 0);
    for (const m of summaries) {
      const w = new Uint32Array((m.msg as { input: { masked: Uint8Array } }).input.masked.slice().buffer);
      const b = new Array(16).fill(0);
      for (let i = 0; i < w.length; i++) b[w[i] >>> 28]++;
      assert.ok(b.reduce((s, x) => s + (x - w.length / 16) ** 2 / (w.length / 16), 0) < 37.7, 'masked summary words are uniform');
    }
    // 5. nothing else it sent carries numbers of the update: keys, sealed shares and Shamir shares are ≤ 4 kB each
    for (const s of f.sent.filter((m) => m.event !== 'fitResult' && m.event !== 'evaluateResult')) assert.ok(JSON.stringify(s.msg).length < 4096 * 8, `${s.event} is small`);
  }
  const n = initial!.reduce((s, t) => s + t.values.length, 0);
  const mean = expectedMean([0, 1, 2], n);
  const t0 = initial![0];
  const g0 = global!.find((x) => x.name === t0.name)!;
  for (let i = 0; i < t0.values.length; i++) assert.ok(Math.abs(g0.values[i] - (t0.values[i] + mean[i])) < 2e-6);
});

/** Hospital k's BatchNorm statistics: channel c has mean k − 1 + c/100 and variance (k + 1)·(1 + c mod 3), over 8 + 4k images. */
function statsOf(k: number): ChannelStatsOf {
  return (channels) => ({ mean: Float64Array.from({ length: channels }, (_, c) => k - 1 + c / 100), variance: Float64Array.from({ length: channels }, (_, c) => (k + 1) * (1 + (c % 3))), examples: 8 + 4 * k });
}

// reliability: a curious coordinator reads what hospitals send in calibration and evaluation under secure aggregation | each hospital's BatchNorm statistics and evaluation summary go into a secure sum; it learns the pooled ones only | no | —
test('under secure aggregation BatchNorm statistics, class statistics and evaluation summaries are summed too: the pooled values are exact, no hospital sends its own', { timeout: 60_000 }, async () => {
  const head = { enabled: true, maxExamples: 64, samplesPerClass: 50, steps: 30, learningRate: 0.01 };
  const { result, fakes, global, initial, lines } = await secureRun(['none', 'none', 'none'], { batchNormCalibration: { enabled: true, maxExamples: 64 }, headCalibration: head }, statsOf);
  assert.equal(result.status, 'complete', result.error ?? undefined);
  const round = result.rounds[0];
  assert.deepEqual(round.fit.calibratedBy, ['h1', 'h2', 'h3']);
  assert.deepEqual(round.fit.headCalibratedBy, ['h1', 'h2', 'h3']);
  assert.ok(lines.some((l) => l.msg === 'last layer recalibrated on the pooled class statistics' && l.fields?.pooling === 'exact (secure sum)'));
  // The last layer is the fit on the exact pooling of the three hospitals' class statistics,
  // from the securely averaged last layer (initial + the weighted mean delta, within fixed point).
  const features = initial!.find((t) => t.name === HEAD_OUT_KERNEL)!.shape[0];
  const pooled = poolHeadStats([0, 1, 2].map((k) => fakeHeadStats(k + 1)(CLASSES.length, features) as HeadStats));
  const n = initial!.reduce((s, t) => s + t.values.length, 0);
  const mean = expectedMean([0, 1, 2], n);
  const averaged = (name: string) => {
    let at = 0;
    for (const t of initial!) {
      if (t.name === name) return Float32Array.from(t.values, (v, i) => v + mean[at + i]);
      at += t.values.length;
    }
    throw new Error(name);
  };
  const want = fitHeadOnStats(averaged(HEAD_OUT_KERNEL), averaged(HEAD_OUT_BIAS), pooled, { ...head, seed: 42 * 1000 + 1, output: 'softmax' });
  const bias = global!.find((t) => t.name === HEAD_OUT_BIAS)!.values;
  const moved = Math.max(...bias.map((v, i) => Math.abs(v - averaged(HEAD_OUT_BIAS)[i])));
  const off = Math.max(...bias.map((v, i) => Math.abs(v - want.bias[i])));
  assert.ok(moved > 1e-3 && off < moved / 100, `the bias moved ${moved} from the averaged one, and is ${off} from the fit on the exact pooling`);
  // The pooled statistics are the exact pooling of the three hospitals' (poolBatchNormStats, 'exact').
  const means = global!.filter((t) => t.name.endsWith('/moving_mean')).map((t) => t.name);
  const got = batchNormChannels(global!, means);
  const channels = got.mean.length;
  const reports = [0, 1, 2].map((k) => statsOf(k)(channels));
  const total = reports.reduce((s, r) => s + r.examples, 0);
  for (let c = 0; c < channels; c++) {
    const mean = reports.reduce((s, r) => s + r.examples * r.mean[c], 0) / total;
    const variance = reports.reduce((s, r) => s + r.examples * (r.variance[c] + (r.mean[c] - mean) ** 2), 0) / total;
    assert.ok(Math.abs(got.mean[c] - mean) < 1e-4, `channel ${c}: mean ${got.mean[c]} vs ${mean}`);
    assert.ok(Math.abs(got.variance[c] - variance) / variance < 1e-4, `channel ${c}: variance ${got.variance[c]} vs ${variance}`);
  }
  // The round's metrics are those of the three summaries merged; no site has its own.
  const merged = twoPredictions();
  assert.equal(round.metrics?.examples, 3 * merged.count);
  assert.equal(round.metrics?.accuracy, 1);
  assert.ok(Math.abs((round.metrics?.loss ?? NaN) - merged.lossSum / merged.count) < 1e-6, 'the pooled loss through the sum');
  assert.deepEqual(round.sites, {}, 'no per-hospital evaluation numbers');
  // Nothing a hospital sent holds its statistics or its summary in the clear.
  for (const f of fakes) {
    const results = f.sent.filter((m) => m.event === 'calibrateResult' || m.event === 'evaluateResult');
    assert.ok(results.some((m) => m.event === 'calibrateResult') && results.some((m) => m.event === 'evaluateResult'));
    for (const m of results) assert.deepEqual(Object.keys(m.msg as object).sort(), ['durationMs', 'input', 'round', 'runId', ...(m.event === 'evaluateResult' ? ['split'] : [])].sort());
  }
});

// reliability: a hospital declares absurd image counts (10¹²) in a secure run | the sums' count segments are capped at what n hospitals can add in 32 bits; its weight is capped there and the run completes | no | —
test('a hospital declaring 10¹² images cannot break a secure run: the sums cap what one hospital may count', { timeout: 60_000 }, async () => {
  const c = await Coordinator.start(config({ rounds: 1, minAvailable: 3, minFit: 3, maxFailures: 1, maxRoundAttempts: 1, batchNormCalibration: { enabled: false }, heartbeatIntervalMs: 1000, heartbeatMisses: 20, staticTokens: TOKENS, secureAggregation: { enabled: true, stageTimeoutMs: 1500 } }));
  const fakes = [0, 1, 2].map((k) => secureFake(c.url, TOKENS[NAMES[k]], { train: 10, update: deltaOf(k), seed: k + 1, ...(k === 2 ? { declared: { train: 1e12, test: 1e12 } } : {}) }));
  const result = await c.done;
  for (const f of fakes) f.socket.disconnect();
  await c.close();
  assert.equal(result.status, 'complete', result.error ?? undefined);
  assert.deepEqual(result.rounds[0].fit.hospitals, ['h1', 'h2', 'h3']);
  assert.equal(result.rounds[0].metrics?.examples, 6, 'the summed evaluation counts what was evaluated');
});

test('a plain update in a secure round is refused (a misconfigured hospital cannot send its update in the clear)', { timeout: 60_000 }, async () => {
  const log = capture();
  const c = await Coordinator.start(config({ rounds: 1, minAvailable: 3, minFit: 3, maxFailures: 0, maxRoundAttempts: 1, batchNormCalibration: { enabled: false }, heartbeatIntervalMs: 1000, heartbeatMisses: 20, staticTokens: TOKENS, secureAggregation: { enabled: true, stageTimeoutMs: 1000 } }), { logger: log.logger });
  const plain = fakeHospital(c.url, TOKENS.h1, honest);
  const fakes = [secureFake(c.url, TOKENS.h2, { train: 10, update: deltaOf(1), seed: 2 }), secureFake(c.url, TOKENS.h3, { train: 10, update: deltaOf(2), seed: 3 })];
  const result = await c.done;
  plain.socket.disconnect();
  for (const f of fakes) f.socket.disconnect();
  await c.close();
  assert.equal(result.status, 'failed');
  assert.ok(plain.acks.length === 0 || plain.acks.every((a) => !a.ok), 'the plain update was not accepted');
  assert.ok(log.lines.some((l) => l.msg.includes('hospital dropped') && l.fields?.hospital === 'h1'), 'the plain hospital (no secure-aggregation handlers) dropped out at the key exchange');
});

test('DP-FedAvg (central) accounts ε each round into summary.json, report.md, the log and /api/state', { timeout: 60_000 }, async () => {
  const { result, lines, runDir, api } = await secureRun(['none', 'none', 'none'], {
    rounds: 2,
    secureAggregation: { enabled: false },
    dp: { noiseMultiplier: 1, clip: 0.5, delta: 1e-5 },
  });
  assert.equal(result.status, 'complete', result.error ?? undefined);
  const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8'));
  assert.equal(summary.privacy.secureAggregation, false);
  assert.equal(summary.privacy.dp.rounds, 2);
  assert.equal(summary.privacy.dp.noiseMultiplier, 1);
  assert.equal(summary.privacy.dp.delta, 1e-5);
  // q = 1, z = 1, 2 rounds, δ 1e-5: the accountant's value (accountant.test.ts checks it against TF Privacy and Opacus)
  const { RdpAccountant } = await import('@fedxray/secure');
  const acc = new RdpAccountant();
  acc.step(1, 1, 2);
  assert.ok(Math.abs(summary.privacy.dp.epsilon - acc.spent(1e-5).epsilon) < 1e-12);
  assert.equal(summary.privacy.dp.perRound.length, 2);
  assert.ok(summary.privacy.dp.perRound[0].epsilon < summary.privacy.dp.perRound[1].epsilon);
  assert.equal(lines.filter((l) => l.msg === 'privacy spent').length, 2);
  assert.deepEqual(api.privacy, summary.privacy, '/api/state (and so the dashboard) shows the ε summary.json records');
  assert.match(readFileSync(join(runDir, 'report.md'), 'utf8'), /## Privacy[\s\S]*ε = \d+\.\d{3} at δ = 0\.00001/);
});
