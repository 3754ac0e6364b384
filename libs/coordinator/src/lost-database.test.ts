// A data directory whose database was lost while its run folders remain: the
// coordinator refuses to start a new run silently, and says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator } from './coordinator';
import { RunStore } from './store';
import { config } from './testing';

/** A data directory with one earlier run in it (started and stopped), and that run's id. */
async function dataDirWithARun(): Promise<{ dataDir: string; runId: string }> {
  const cfg = config();
  const c = await Coordinator.start(cfg);
  await c.stop();
  return { dataDir: cfg.dataDir, runId: c.runId };
}

function removeDatabase(dataDir: string): void {
  for (const f of ['fedxray.db', 'fedxray.db-wal', 'fedxray.db-shm']) rmSync(join(dataDir, f), { force: true });
}

// reliability: database truncated to 0 bytes while the data dir holds earlier runs | the coordinator refuses to start instead of beginning a new run with no hospitals | no | "Refusing to start: … holds 1 earlier run (…), but …/fedxray.db is empty (0 bytes)" with what to do
test('a database truncated to 0 bytes beside earlier run folders: the start is refused with what was found and what to do', { timeout: 60_000 }, async () => {
  const { dataDir, runId } = await dataDirWithARun();
  truncateSync(join(dataDir, 'fedxray.db'), 0);
  rmSync(join(dataDir, 'fedxray.db-wal'), { force: true });
  await assert.rejects(Coordinator.start(config({ dataDir })), (err: Error) => {
    assert.equal(err.name, 'ConfigError');
    assert.match(err.message, new RegExp(`holds 1 earlier run \\(${runId}\\), but .*fedxray\\.db is empty \\(0 bytes\\)`));
    assert.match(err.message, /Restore fedxray\.db from a backup/);
    assert.match(err.message, /--data-dir/);
    assert.match(err.message, /--new-run/);
    return true;
  });
  assert.equal(statSync(join(dataDir, 'fedxray.db')).size, 0, 'the refusal writes nothing into the database');
});

// reliability: database file deleted (or recreated empty) while the data dir holds earlier runs | the coordinator refuses to start; --new-run starts a new run beside the old folders on purpose | no | "Refusing to start: … fedxray.db is missing" (or "holds no runs")
test('a missing database, or one recreated with no runs, is refused too; newRun starts a new run on purpose', { timeout: 60_000 }, async () => {
  const { dataDir, runId } = await dataDirWithARun();
  removeDatabase(dataDir);
  await assert.rejects(Coordinator.start(config({ dataDir })), /fedxray\.db is missing/);
  assert.equal(existsSync(join(dataDir, 'fedxray.db')), false, 'the refusal creates no database');
  // e.g. `fedxray coordinator add-hospital` run after the loss recreates an empty database
  new RunStore(dataDir).close();
  await assert.rejects(Coordinator.start(config({ dataDir })), new RegExp(`\\(${runId}\\), but .*fedxray\\.db holds no runs`));
  const fresh = await Coordinator.start(config({ dataDir, newRun: true }));
  assert.notEqual(fresh.runId, runId);
  await fresh.stop();
});
