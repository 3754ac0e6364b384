// A full disk in the middle of a run: the round fails cleanly (logged and
// recorded as "disk full"), the last good state is kept, and the run carries on
// once space is back, with no round lost or doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator } from './coordinator';
import { failFileWrites, failStoreWrites } from './disk-faults';
import { createLogger } from './log';
import { RunStore } from './store';
import { TOKENS, config, fakeHospital, honest, runToEnd } from './testing';

/** A coordinator for two rounds with two honest hospitals, retrying 50 ms after a full disk, and its log. */
async function started(overrides: Parameters<typeof config>[0] = {}) {
  const lines: string[] = [];
  const cfg = config({ rounds: 2, diskFullRetryMs: 50, batchNormCalibration: { enabled: false }, ...overrides });
  const c = await Coordinator.start(cfg, { logger: createLogger('pretty', (l) => lines.push(l)) });
  return { c, lines, dataDir: cfg.dataDir };
}

function assertEveryRoundOnce(result: Awaited<ReturnType<typeof runToEnd>>) {
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(result.rounds.map((r) => r.round), [1, 2], 'no round lost or doubled');
}

// reliability: disk full (SQLITE_FULL) while the round is committed | the round fails cleanly and keeps the last committed model, event writes fail without crashing, and the round is retried once space is back | no | "disk full: round 1 failed; the last good state is kept and the round is tried again in … s"
test('SQLITE_FULL while committing a round: the round fails cleanly, nothing crashes, and the run resumes once space is back', { timeout: 120_000 }, async () => {
  const { c, lines } = await started();
  let full = false;
  let fullSince = 0;
  failStoreWrites(c.store, () => full);
  // the disk fills just as round 1 is committed, and frees up after the failure has been logged
  const commit = c.store.commitRound.bind(c.store);
  c.store.commitRound = (...args) => {
    if (args[1] === 1 && fullSince === 0) {
      full = true;
      fullSince = Date.now();
    }
    return commit(...args);
  };
  const freed = setInterval(() => {
    if (full && lines.some((l) => l.startsWith('[error] disk full: round 1 failed'))) full = false;
  }, 5);
  const before = c.globalWeights();
  const attempts: number[] = [];
  c.on('roundStart', (r) => r.round === 1 && attempts.push(r.attempt));
  c.on('roundFailed', (r) => r.round === 1 && assert.deepEqual(c.globalWeights(), before, 'the failed round left the global model as it was'));
  const result = await runToEnd(c, fakeHospital(c.url, TOKENS.good, honest), fakeHospital(c.url, TOKENS.bad, honest));
  clearInterval(freed);
  assertEveryRoundOnce(result);
  assert.deepEqual(attempts, [1, 2], 'round 1 was tried again after the full disk');
  assert.ok(lines.some((l) => /^\[error\] disk full: event not stored, only logged .*type=round_failed/.test(l)), lines.join(''));
  assert.ok(lines.some((l) => /^\[error\] disk full: round 1 failed; .*SQLITE_FULL|database or disk is full/.test(l)), lines.join(''));
});

// reliability: disk full (ENOSPC) while the checkpoint is written | the round fails cleanly (recorded as "disk full"), no partial checkpoint is left, and the round is retried once space is back | no | "disk full: round 1 failed; … ENOSPC: no space left on device"
test('ENOSPC while writing a checkpoint: the round is recorded as failed for a full disk and redone once space is back', { timeout: 120_000 }, async () => {
  const { c, lines, dataDir } = await started({ maxRoundAttempts: 1 });
  let failures = 0;
  // the first two checkpoint writes find the disk full; then space is back
  const restore = failFileWrites(c.runDir, () => failures < 2);
  c.on('roundFailed', () => failures++);
  const partial: string[] = [];
  c.on('roundStart', () => partial.push(...readdirSync(join(c.runDir, 'checkpoints')).filter((f) => !/^round-\d+$/.test(f))));
  try {
    const result = await runToEnd(c, fakeHospital(c.url, TOKENS.good, honest), fakeHospital(c.url, TOKENS.bad, honest));
    assertEveryRoundOnce(result);
    assert.deepEqual(result.rounds.map((r) => r.attempt), [3, 1], 'two attempts at round 1 met the full disk; with maxRoundAttempts 1 they did not count');
    assert.deepEqual(partial, [], 'a checkpoint that could not be written leaves nothing behind');
    assert.equal(lines.filter((l) => /^\[error\] disk full: round 1 failed; .*ENOSPC: no space left on device/.test(l)).length, 2, lines.join(''));
  } finally {
    restore();
  }
  const store = new RunStore(dataDir);
  try {
    const failed = store.events(store.runs()[0]!.id).filter((e) => e.type === 'round_failed');
    assert.deepEqual(failed.map((e) => [e.data.round, e.data.attempt, String(e.data.reason).slice(0, 17)]), [
      [1, 1, 'disk full: ENOSPC'],
      [1, 2, 'disk full: ENOSPC'],
    ]);
  } finally {
    store.close();
  }
});

// reliability: disk full (SQLITE_FULL) while a committed round's evaluation is recorded | the committed round is kept (not redone), and its evaluation is run and recorded again once space is back | no | "disk full: round 1 was committed, but its evaluation could not be recorded; it is evaluated again in …"
test('SQLITE_FULL while recording a committed round’s evaluation: the round is not redone, only evaluated again', { timeout: 120_000 }, async () => {
  const { c, lines } = await started();
  let full = false;
  let filled = false;
  failStoreWrites(c.store, () => full);
  const complete = c.store.completeRound.bind(c.store);
  c.store.completeRound = (...args) => {
    if (args[1] === 1 && !filled) full = filled = true;
    return complete(...args);
  };
  const freed = setInterval(() => {
    if (full && lines.some((l) => l.startsWith('[error] disk full: round 1 was committed'))) full = false;
  }, 5);
  const result = await runToEnd(c, fakeHospital(c.url, TOKENS.good, honest), fakeHospital(c.url, TOKENS.bad, honest));
  clearInterval(freed);
  assertEveryRoundOnce(result);
  assert.deepEqual(result.rounds.map((r) => r.attempt), [1, 1], 'round 1 was committed once and not run again');
  assert.ok(!lines.some((l) => /round started round=1 attempt=2/.test(l)), lines.join(''));
});
