// A damaged latest checkpoint: the coordinator resumes from the newest intact
// one, says which, and redoes the rounds after it, none lost or doubled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator } from './coordinator';
import { createLogger } from './log';
import { RunStore } from './store';
import { TOKENS, config, fakeHospital, honest, runToEnd } from './testing';

/** A run of 4 rounds stopped after round 3 completed: its config and the folder of its round-3 checkpoint. */
async function stoppedAfterRound3(): Promise<{ cfg: ReturnType<typeof config>; checkpoint: string; runId: string }> {
  const cfg = config({ rounds: 4, batchNormCalibration: { enabled: false } });
  const c = await Coordinator.start(cfg);
  const stopped = new Promise<void>((resolve) => c.on('roundEnd', (r) => r.round === 3 && resolve()));
  const hospitals = [fakeHospital(c.url, TOKENS.good, honest), fakeHospital(c.url, TOKENS.bad, honest)];
  await stopped;
  const checkpoint = c.store.run(c.runId)!.checkpoint!;
  for (const h of hospitals) h.socket.disconnect();
  await c.stop();
  return { cfg, checkpoint, runId: c.runId };
}

/** Restarts the run with two honest hospitals and runs it to the end, collecting the log. */
async function resume(cfg: ReturnType<typeof config>) {
  const lines: string[] = [];
  const c = await Coordinator.start(cfg, { logger: createLogger('pretty', (l) => lines.push(l)) });
  const result = await runToEnd(c, fakeHospital(c.url, TOKENS.good, honest), fakeHospital(c.url, TOKENS.bad, honest));
  return { result, lines };
}

function assertRedidRound3(run: Awaited<ReturnType<typeof resume>>, checkpoints: string) {
  const { result, lines } = run;
  assert.equal(result.status, 'complete', result.error);
  assert.deepEqual(result.rounds.map((r) => r.round), [1, 2, 3, 4], 'every round once, in order');
  assert.deepEqual(result.rounds.map((r) => r.attempt), [1, 1, 2, 1], 'round 3 was run again, as its second attempt');
  const fallback = lines.find((l) => l.startsWith('[warn] resuming from the checkpoint of round 2; rounds 3 will be redone'));
  assert.ok(fallback, lines.join(''));
  assert.match(fallback, new RegExp(`usedCheckpoint=${join(checkpoints, 'round-0002')}`));
  assert.ok(lines.some((l) => /^\[error\] checkpoint damaged .*round-0003/.test(l)), lines.join(''));
}

// reliability: latest checkpoint truncated on disk | the coordinator resumes from the newest intact checkpoint and redoes the rounds after it | no | "checkpoint damaged … resuming from the checkpoint of round 2; rounds 3 will be redone"
test('a truncated latest checkpoint: the run resumes from the round before and redoes the lost round', { timeout: 180_000 }, async () => {
  const { cfg, checkpoint } = await stoppedAfterRound3();
  const shard = readdirSync(checkpoint).find((f) => f.endsWith('.bin') && f.startsWith('group1'))!;
  truncateSync(join(checkpoint, shard), 100);
  assertRedidRound3(await resume(cfg), join(checkpoint, '..'));
});

// reliability: latest checkpoint altered on disk with its size unchanged | its SHA-256 does not match the manifest, so the newest intact checkpoint is used and the rounds after it redone | no | "checkpoint damaged … does not match its SHA-256 … rounds 3 will be redone"
test('a checkpoint altered without changing its size is caught by its checksum, not loaded silently', { timeout: 180_000 }, async () => {
  const { cfg, checkpoint, runId } = await stoppedAfterRound3();
  const shard = join(checkpoint, readdirSync(checkpoint).find((f) => f.endsWith('.bin') && f.startsWith('group1'))!);
  const bytes = readFileSync(shard);
  for (let i = 0; i < 64; i++) bytes[i * 7] ^= 0xff;
  writeFileSync(shard, bytes);
  const run = await resume(cfg);
  assertRedidRound3(run, join(checkpoint, '..'));
  assert.ok(run.lines.some((l) => /does not match its SHA-256/.test(l)));
  const s = new RunStore(cfg.dataDir);
  try {
    assert.deepEqual(s.events(runId).filter((e) => e.type === 'checkpoint_fallback').map((e) => e.data.redoneRounds), [[3]]);
    assert.deepEqual(s.rounds(runId).map((r) => [r.round, r.status]), [[1, 'complete'], [2, 'complete'], [3, 'complete'], [4, 'complete']]);
  } finally {
    s.close();
  }
});
