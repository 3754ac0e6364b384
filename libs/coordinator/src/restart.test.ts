// Starting a coordinator on a data directory that already holds runs: what it
// resumes, what it refuses, and that a start that fails leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coordinator } from './coordinator';
import { createLogger } from './log';
import { RunStore } from './store';
import { config } from './testing';

/** A run left unfinished in `dataDir`: started, then stopped while waiting for hospitals. */
async function unfinished(overrides: Parameters<typeof config>[0] = {}): Promise<{ dataDir: string; runId: string }> {
  const first = config(overrides);
  const c = await Coordinator.start(first);
  await c.stop();
  return { dataDir: first.dataDir, runId: c.runId };
}

test('a start whose settings differ from the unfinished run’s is refused, naming every difference', { timeout: 60_000 }, async () => {
  const { dataDir, runId } = await unfinished({ rounds: 2 });
  const differing = config({ dataDir, rounds: 5, model: { arch: 'densenet-tiny', imageSize: 32, classes: ['a', 'b', 'c'] }, strategy: { name: 'fedmedian' } });
  await assert.rejects(Coordinator.start(differing), (err: Error) => {
    assert.match(err.message, new RegExp(`unfinished run ${runId}`));
    assert.match(err.message, /rounds: 2 → 5/);
    assert.match(err.message, /model\.imageSize: 16 → 32/);
    assert.match(err.message, /strategy\.name: "fedavg" → "fedmedian"/);
    assert.match(err.message, /--new-run/);
    return true;
  });
  // settings that only say how to serve (port, timeouts) are no difference: it resumes
  const same = await Coordinator.start(config({ dataDir, roundTimeoutMs: 1234, waitTimeoutMs: 60_000 }));
  assert.equal(same.runId, runId);
  await same.stop();
});

test('newRun starts a fresh run beside an unfinished one; runId names which one to resume', { timeout: 60_000 }, async () => {
  const { dataDir, runId } = await unfinished({ rounds: 2 });
  const fresh = await Coordinator.start(config({ dataDir, rounds: 5, newRun: true }));
  assert.notEqual(fresh.runId, runId);
  assert.equal(fresh.state().run.rounds, 5);
  await fresh.stop();
  // naming the first run resumes it with its own settings, whatever the rest of the config says (and says so)
  const lines: string[] = [];
  const resumed = await Coordinator.start(config({ dataDir, rounds: 7, runId }), { logger: createLogger('pretty', (l) => lines.push(l)) });
  assert.equal(resumed.runId, runId);
  assert.equal(resumed.state().run.rounds, 2);
  await resumed.stop();
  assert.ok(lines.some((l) => /\[warn\] resuming the named run with its own settings.*ignored=\["rounds: 2 → 7"\]/.test(l)), lines.join(''));
});

test('a start that fails validation stores nothing, so the next start does not resume it', { timeout: 60_000 }, async () => {
  const bad = config({ strategy: { name: 'fedavgg' } });
  await assert.rejects(Coordinator.start(bad), /strategy/);
  const badModel = config({ dataDir: bad.dataDir, model: { arch: 'densenet-huge', imageSize: 16, classes: ['a', 'b'] } });
  await assert.rejects(Coordinator.start(badModel), /model/);
  const badTls = config({ dataDir: bad.dataDir, tls: { cert: '/no/such/cert.pem', key: '/no/such/key.pem' } });
  await assert.rejects(Coordinator.start(badTls), /\/no\/such\/cert\.pem/);
  // a port already in use: the run was stored before listening failed, and is removed again
  const first = await Coordinator.start(config());
  const port = Number(new URL(first.url).port);
  await assert.rejects(Coordinator.start(config({ dataDir: bad.dataDir, port })), /EADDRINUSE/);
  await first.stop();
  const store = new RunStore(bad.dataDir);
  try {
    assert.deepEqual(store.runs(), []);
  } finally {
    store.close();
  }
  const good = await Coordinator.start(config({ dataDir: bad.dataDir }));
  assert.equal(good.state().run.status, 'running');
  await good.stop();
});

test('an unknown key in the configuration fails at once with its path', { timeout: 30_000 }, async () => {
  await assert.rejects(Coordinator.start({ ...config(), roundz: 3 } as Parameters<typeof Coordinator.start>[0]), /roundz/);
  await assert.rejects(Coordinator.start(config({ fit: { localEpochs: 1, batchSize: 4, lr: 0.1 } as never })), /fit\.lr/);
  await assert.rejects(Coordinator.start(config({ model: { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'], initialModel: 'x' } })), /model\.initialModel/);
});
