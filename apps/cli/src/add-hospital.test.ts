import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HospitalRegistry, RunStore } from '@fedxray/coordinator';
import { run, tempDir } from './testing';

test('add-hospital refuses a name already registered unless --rotate; the replaced token or certificate is then refused as rotated', { timeout: 120_000 }, async () => {
  // prepare
  const dir = tempDir();
  const out = tempDir();
  const first = await run('coordinator', 'add-hospital', 'st-marys', '--data-dir', dir);
  assert.equal(first.code, 0, first.err);

  // execute
  const again = await run('coordinator', 'add-hospital', 'st-marys', '--data-dir', dir);
  const rotated = await run('coordinator', 'add-hospital', 'st-marys', '--rotate', '--data-dir', dir);
  const certificate = await run('coordinator', 'add-hospital', 'st-marys', '--rotate', '--certificate', '--out', out, '--data-dir', dir);

  // assert
  assert.equal(again.code, 2);
  assert.match(again.err, /^fedxray: Hospital st-marys is already registered since \d{4}-.*Z; give --rotate to issue it a new token \(its old credential is then refused as rotated\)\n$/);
  assert.equal(rotated.code, 0, rotated.err);
  assert.match(rotated.err, /Hospital st-marys given a new credential; its old one is refused from now on/);
  assert.equal(certificate.code, 0, certificate.err);
  assert.match(certificate.out, /^([0-9A-F]{2}:){31}[0-9A-F]{2}\n$/);
  assert.ok(existsSync(join(out, 'st-marys.cert.pem')) && existsSync(join(out, 'st-marys.key.pem')));
  const store = new RunStore(dir);
  const registry = new HospitalRegistry(store);
  try {
    assert.deepEqual(registry.verify(first.out.trim()), { ok: false, reason: 'rotated' }, 'the first token says rotated, not unknown');
    assert.deepEqual(registry.verify(rotated.out.trim()), { ok: false, reason: 'rotated' }, 'the certificate replaced the second token');
    assert.equal(registry.verifyCertificate(certificate.out.trim()).ok, true);
  } finally {
    store.close();
  }
});
