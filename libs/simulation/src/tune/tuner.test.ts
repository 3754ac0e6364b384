import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tuner, TuneResumeError, type TrialRunner } from './tuner';
import type { TrialOutcome, TrialPlan, TuneFile } from './records';
import { TuneConfigError } from './config';

/** A made-up response surface: deterministic in the factors, so tests know the answer. */
function fakeAccuracy(p: TrialPlan): number {
  return 0.5 + 0.1 * (p.levels[0] === 2 ? 1 : 0) + 0.05 * p.levels[2] - 0.02 * p.levels[1] + 0.01 * p.levels[3];
}

function fakeRunner(calls: number[], opts: { fail?: number[]; seen?: { trial: number; files: string[]; model: Record<string, unknown> }[] } = {}): TrialRunner {
  return async (plan, ctx): Promise<TrialOutcome> => {
    calls.push(plan.trial);
    opts.seen?.push({ trial: plan.trial, files: existsSync(ctx.dir) ? readdirSync(ctx.dir) : [], model: ctx.options.model });
    if (opts.fail?.includes(plan.trial)) throw new Error(`trial ${plan.trial} broke`);
    const y = fakeAccuracy(plan);
    return { status: 'complete', trainAccuracy: y + 0.05, trainLoss: 1 - y, testAccuracy: y, testLoss: 1.1 - y };
  };
}

/** Stands in for hashing the images; tests change it to play a regenerated data set. */
let dataHash = 'a'.repeat(64);
const fingerprintData = async () => ({ images: 100, sha256: dataHash });

const base = { data: '/data/demo', hospitals: 3, partition: 'dirichlet:1', rounds: 2, model: { arch: 'densenet-tiny', imageSize: 16 }, backend: 'cpu' as const, seed: 7 };

function tempOut(): string {
  return mkdtempSync(join(tmpdir(), 'fedxray-tune-'));
}

function readTune(out: string): TuneFile {
  return JSON.parse(readFileSync(join(out, 'tune.json'), 'utf8'));
}

test('a stopped tune resumes: finished trials are skipped, the rest run, the analysis appears at the end', async () => {
  const out = tempOut();
  const first: number[] = [];
  const r1 = await new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner(first), limit: 4 }).run();
  assert.deepEqual(first, [1, 2, 3, 4]);
  assert.equal(r1.complete, false);
  assert.equal(r1.analysis, null);
  const onDisk = readTune(out);
  assert.deepEqual(onDisk.trials.map((t) => t.trial), [1, 2, 3, 4]);
  assert.match(readFileSync(join(out, 'tune.md'), 'utf8'), /4 of 9 trials complete/);

  // trial 5 was killed half-way: its directory holds a leftover file
  mkdirSync(join(out, 'trial-5'));
  writeFileSync(join(out, 'trial-5', 'partial.txt'), 'half a run');
  const second: number[] = [];
  const seen: { trial: number; files: string[]; model: Record<string, unknown> }[] = [];
  const tuner = new Tuner({ fingerprintData, out, simulation: { ...base, workers: false, port: 1234 }, runTrial: fakeRunner(second, { seen }) });
  const starts: number[] = [];
  tuner.on('trialStart', ({ plan }) => starts.push(plan.trial));
  const r2 = await tuner.run();
  assert.deepEqual(r2.skipped, [1, 2, 3, 4]);
  assert.deepEqual(second, [5, 6, 7, 8, 9]);
  assert.deepEqual(starts, [5, 6, 7, 8, 9]);
  assert.deepEqual(seen[0].files, [], 'the half-run trial directory is cleared before the trial runs again');
  // row 5 of L9 is [1, 1, 2, 0]: sgd, 0.0001, 0.5, relu, on top of the shared model spec
  assert.deepEqual(seen[0].model, { arch: 'densenet-tiny', imageSize: 16, head: { activation: 'relu', dropout: 0.5 }, optimizer: { name: 'sgd', learningRate: 0.0001 } });
  assert.equal(r2.complete, true);
  assert.equal(r2.trials.length, 9);
  const a = r2.analysis!;
  // the fake surface rewards optimizer level 3, dropout level 3, lr level 1, activation level 3
  assert.deepEqual(a.recommended, { optimizer: 'adagrad', learningRate: 0.001, dropout: 0.5, activation: 'sigmoid' });
  assert.equal(a.recommendedTrial, null); // [2, 0, 2, 2] is not a row of L9
  assert.deepEqual(readTune(out).analysis, JSON.parse(JSON.stringify(a)));
  const md = readFileSync(join(out, 'tune.md'), 'utf8');
  assert.match(md, /9 of 9 trials complete/);
  assert.match(md, /Recommended \(best level of each factor by S\/N\): optimizer adagrad, learning rate 0\.001, dropout 0\.5, activation sigmoid/);
  assert.ok(!readdirSync(out).some((f) => f.endsWith('.tmp')), 'no temporary files left behind');

  // a third run has nothing left to do
  const third: number[] = [];
  const r3 = await new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner(third) }).run();
  assert.deepEqual(third, []);
  assert.deepEqual(r3.skipped, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a failed trial is recorded as failed, the others go on, and a rerun retries only it', async () => {
  const out = tempOut();
  const first: number[] = [];
  const r1 = await new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner(first, { fail: [3] }) }).run();
  assert.equal(first.length, 9);
  assert.equal(r1.complete, false);
  assert.equal(r1.analysis, null);
  const t3 = r1.trials.find((t) => t.trial === 3)!;
  assert.equal(t3.status, 'failed');
  assert.match(t3.error!, /trial 3 broke/);
  const second: number[] = [];
  const r2 = await new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner(second) }).run();
  assert.deepEqual(second, [3]);
  assert.equal(r2.complete, true);
  assert.ok(r2.analysis);
});

test('a tune refuses to resume a different experiment, naming what differs', async () => {
  const out = tempOut();
  await new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner([]), limit: 1 }).run();
  const calls: number[] = [];
  await assert.rejects(
    new Tuner({ fingerprintData, out, simulation: base, design: { factors: { dropout: [0.2, 0.4, 0.5] } }, runTrial: fakeRunner(calls) }).run(),
    (err: Error) => err instanceof TuneResumeError && /factors was .*"dropout":\[0\.3,0\.4,0\.5\].*now .*"dropout":\[0\.2,0\.4,0\.5\]/.test(err.message),
  );
  await assert.rejects(new Tuner({ fingerprintData, out, simulation: { ...base, rounds: 3 }, runTrial: fakeRunner(calls) }).run(), /rounds was 2, now 3/);
  await assert.rejects(new Tuner({ fingerprintData, out, simulation: base, centralized: true, runTrial: fakeRunner(calls) }).run(), /centralized was false, now true; hospitals was 3, now 1; partition was "dirichlet:1", now "iid"/);
  assert.deepEqual(calls, [], 'nothing ran');
  assert.equal(readTune(out).trials.length, 1, 'the record is left as it was');

  dataHash = 'b'.repeat(64);
  try {
    await assert.rejects(new Tuner({ fingerprintData, out, simulation: base, runTrial: fakeRunner(calls) }).run(), /The data set changed since the finished trials .* \(100 images, sha256 aaaaaaaaaaaa…; now 100 images, sha256 bbbbbbbbbbbb…/);
  } finally {
    dataHash = 'a'.repeat(64);
  }
  assert.deepEqual(calls, [], 'nothing ran');

  const junk = tempOut();
  writeFileSync(join(junk, 'tune.json'), '{"hello": 1}');
  await assert.rejects(new Tuner({ fingerprintData, out: junk, simulation: base, runTrial: fakeRunner(calls) }).run(), /is not a tune record/);
});

test('centralized runs one hospital holding all the data; the learning rate cannot also be fixed', () => {
  const t = new Tuner({ fingerprintData, out: tempOut(), simulation: base, centralized: true });
  assert.equal(t.base.hospitals, 1);
  assert.equal(t.base.partition, 'iid');
  assert.throws(() => new Tuner({ fingerprintData, out: tempOut(), simulation: { ...base, learningRate: 0.01 } }), TuneConfigError);
  assert.throws(() => new Tuner({ fingerprintData, out: tempOut(), simulation: { hospitalData: ['a', 'b'] }, centralized: true }), /one data set/);
  assert.throws(() => new Tuner({ fingerprintData, out: tempOut(), simulation: base, limit: 0 }), /limit/);
});
