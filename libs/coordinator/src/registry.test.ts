import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HospitalRegistry, hashToken } from './registry';
import { RunStore } from './store';

test('hospital tokens: issued once, stored only as hashes, verified, revoked, re-issued', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-registry-'));
  const store = new RunStore(dir);
  const registry = new HospitalRegistry(store, { 'static-site': 'static-token-0123456789abcdef' });
  const token = registry.add('st-marys');
  const other = registry.add('county-general');
  assert.match(token, /^fx_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(token, other);

  assert.deepEqual(registry.verify(token), { ok: true, name: 'st-marys' });
  assert.deepEqual(registry.verify(other), { ok: true, name: 'county-general' });
  assert.deepEqual(registry.verify('static-token-0123456789abcdef'), { ok: true, name: 'static-site' });
  assert.deepEqual(registry.verify(`${token}x`), { ok: false, reason: 'unauthorized' });
  assert.deepEqual(registry.verify(''), { ok: false, reason: 'unauthorized' });

  // what is on disk: the hash, never the token
  const rows = store.db.prepare('SELECT name, token_hash FROM hospitals ORDER BY name').all() as { name: string; token_hash: string }[];
  assert.deepEqual(rows, [
    { name: 'county-general', token_hash: hashToken(other) },
    { name: 'st-marys', token_hash: hashToken(token) },
  ]);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f)).toString('latin1');
    assert.ok(!bytes.includes(token) && !bytes.includes(other), `${f} holds a token in clear`);
  }

  assert.equal(registry.remove('st-marys'), true);
  assert.deepEqual(registry.verify(token), { ok: false, reason: 'revoked' });
  assert.deepEqual(registry.verify(other), { ok: true, name: 'county-general' }, 'revoking one leaves the others');
  assert.equal(registry.remove('nobody'), false);

  // adding the name again issues a new token; the revoked one stays refused
  const again = registry.add('st-marys');
  assert.deepEqual(registry.verify(again), { ok: true, name: 'st-marys' });
  assert.deepEqual(registry.verify(token), { ok: false, reason: 'unauthorized' });
  assert.throws(() => registry.add('no spaces please'), /Expected a hospital name/);
  store.close();
});
