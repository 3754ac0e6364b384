import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Coordinator, caPaths } from '@fedxray/coordinator';
import { makeBlobDataset, tempDir } from './support/images';
import { runCli } from './support/processes';

const MODEL = { arch: 'densenet-tiny', imageSize: 16, classes: ['left', 'right', 'top'] };

// reliability: revoking, with the CLI, a hospital that is connected with a client certificate | the running coordinator disconnects it at once and refuses its reconnection as revoked; the hospital process exits | no | the hospital prints "refused by the coordinator (revoked): This client certificate was revoked" and exits 1
test('a hospital joins with the client certificate `add-hospital --certificate` issued, and `remove-hospital` disconnects it from the running coordinator', { timeout: 180_000 }, async () => {
  // prepare: the CA, the hospital's certificate and the coordinator's server certificate all come from the real CLI
  const dataDir = tempDir('fedxray-mtls-data-');
  const out = tempDir('fedxray-mtls-out-');
  const added = runCli(['coordinator', 'add-hospital', 'st-marys', '--certificate', '--data-dir', dataDir, '--out', out]);
  assert.equal(await added.exited, 0, added.output());
  const cert = join(out, 'st-marys.cert.pem');
  const key = join(out, 'st-marys.key.pem');
  assert.ok(existsSync(cert));
  assert.equal(statSync(key).mode & 0o777, 0o600, 'the hospital key is readable by its owner only');
  assert.equal(statSync(caPaths(dataDir).key).mode & 0o777, 0o600, 'the CA key is readable by its owner only');

  const served = runCli(['coordinator', 'server-certificate', '--hosts', '127.0.0.1,localhost', '--data-dir', dataDir, '--out', out]);
  assert.equal(await served.exited, 0, served.output());
  const coordinator = await Coordinator.start({
    dataDir,
    port: 0,
    tls: { cert: join(out, 'coordinator.cert.pem'), key: join(out, 'coordinator.key.pem') },
    rounds: 1,
    minAvailable: 2,
    waitTimeoutMs: 120_000,
    evaluateInitial: false,
    model: MODEL,
  });
  const data = await makeBlobDataset({ perClass: 4, size: 16, seed: 5 });
  const joined = new Promise<void>((resolve) => coordinator.on('hospital', (e) => e.name === 'st-marys' && e.event === 'joined' && resolve()));
  const hospital = runCli(['hospital', '--coordinator', coordinator.url, '--cert', cert, '--key', key, '--ca', caPaths(dataDir).cert, '--data', data.dir, '--backend', 'cpu', '--no-worker'], { FEDXRAY_TOKEN: '' });
  try {
    await Promise.race([joined, hospital.exited.then((code) => Promise.reject(new Error(`the hospital exited (${code}) before joining:\n${hospital.output()}`)))]);

    // execute
    const removed = runCli(['coordinator', 'remove-hospital', 'st-marys', '--data-dir', dataDir]);
    assert.equal(await removed.exited, 0, removed.output());
    const code = await hospital.exited;

    // assert
    assert.equal(code, 1, hospital.output());
    assert.match(hospital.output(), /refused by the coordinator \(revoked\): This client certificate was revoked/);
    const expelled = coordinator.store.events(coordinator.runId).filter((e) => e.type === 'hospital_expelled');
    assert.deepEqual(
      expelled.map((e) => e.data.reason),
      ['revoked'],
    );
  } finally {
    if (hospital.child.exitCode === null) {
      hospital.child.kill();
      await once(hospital.child, 'exit');
    }
    await coordinator.stop();
  }
});
