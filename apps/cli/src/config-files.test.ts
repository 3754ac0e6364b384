// `--config` files for coordinator, simulate and tune: only flags actually given
// override the file, an unknown key fails at once with its path, and tune takes
// every model and training option simulate takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '@fedxray/coordinator';
import { run } from './testing';

function jsonFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fedxray-config-')), 'config.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['a', 'b'] };

test('coordinator --config: values in the file hold unless the flag is given on the command line', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
  const file = jsonFile({ minAvailable: 5, minFit: 5, roundTimeoutMs: 5000, waitTimeoutMs: 1000, rounds: 4, model: MODEL });
  const r = await run('coordinator', '--data-dir', dataDir, '--config', file, '--port', '0', '--rounds', '6', '--trust-proxy', '127.0.0.1, ::1', '--hello-timeout', '5', '--auth-failure-limit', '4', '--max-dashboards', '7', '--exit-when-done');
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /Waited 1 s for 5 hospitals/);
  const store = new RunStore(dataDir);
  try {
    const [stored] = store.runs();
    assert.equal(stored.config.minAvailable, 5);
    assert.equal(stored.config.roundTimeoutMs, 5000);
    assert.equal(stored.config.rounds, 6, 'a flag given on the command line wins');
    assert.equal(stored.config.maxFailures, 1, 'neither in the file nor given: the default');
    assert.deepEqual(stored.config.trustProxy, ['127.0.0.1', '::1']);
    assert.equal(stored.config.helloTimeoutMs, 5000);
    assert.equal(stored.config.authFailureLimit, 4);
    assert.equal(stored.config.maxDashboardConnections, 7);
  } finally {
    store.close();
  }
});

test('an unknown key in a --config file fails at once, with its path, for coordinator, simulate and tune', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fedxray-coord-cli-'));
  const coordinator = await run('coordinator', '--data-dir', dataDir, '--port', '0', '--config', jsonFile({ roundz: 3, waitTimeoutMs: 1000, model: MODEL }));
  assert.equal(coordinator.code, 2, coordinator.err);
  assert.match(coordinator.err, /roundz/);
  const nested = await run('coordinator', '--data-dir', dataDir, '--port', '0', '--config', jsonFile({ waitTimeoutMs: 1000, model: { ...MODEL, initialModel: 'x.json' } }));
  assert.equal(nested.code, 2, nested.err);
  assert.match(nested.err, /model\.initialModel/);
  const simulate = await run('simulate', '--config', jsonFile({ demo: true, roundz: 3 }));
  assert.equal(simulate.code, 2, simulate.err);
  assert.match(simulate.err, /roundz/);
  const tune = await run('tune', '--config', jsonFile({ demo: true, roundz: 3 }));
  assert.equal(tune.code, 2, tune.err);
  assert.match(tune.err, /roundz/);
});

test('tune takes every model and training option simulate takes (e.g. --output, to tune the study’s sigmoid output)', { timeout: 60_000 }, async () => {
  const options = (help: string) => new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)/gm)].map((m) => m[1]));
  const simulate = options((await run('simulate', '--help')).out);
  const tune = options((await run('tune', '--help')).out);
  const shared = ['--demo', '--data', '--hospitals', '--partition', '--rounds', '--local-epochs', '--batch-size', '--max-examples', '--strategy', '--fedbn', '--max-weight', '--server-lr', '--local-loss', '--arch', '--image-size', '--backend', '--output', '--seed', '--no-workers', '--no-augment', '--balance', '--max-repeat', '--cache-dir', '--weights', '--trainable', '--schedule', '--normalize', '--preset'];
  for (const o of shared) {
    assert.ok(simulate.has(o), `simulate ${o}`);
    assert.ok(tune.has(o), `tune ${o}`);
  }
});
