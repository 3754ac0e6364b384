import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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

  assert.deepEqual(registry.verify(token), { ok: true, name: 'st-marys', credential: hashToken(token) });
  assert.deepEqual(registry.verify(other), { ok: true, name: 'county-general', credential: hashToken(other) });
  assert.deepEqual(registry.verify('static-token-0123456789abcdef'), { ok: true, name: 'static-site', credential: 'static:static-site' });
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
  assert.deepEqual(registry.verify(other), { ok: true, name: 'county-general', credential: hashToken(other) }, 'revoking one leaves the others');
  assert.equal(registry.remove('nobody'), false);

  // a revoked name is given a new token only with rotate; the revoked one stays refused as revoked
  assert.throws(() => registry.add('st-marys'), /Hospital st-marys is already revoked .*give --rotate/);
  const again = registry.add('st-marys', { rotate: true });
  assert.deepEqual(registry.verify(again), { ok: true, name: 'st-marys', credential: hashToken(again) });
  assert.deepEqual(registry.verify(token), { ok: false, reason: 'revoked' });
  assert.throws(() => registry.add('no spaces please'), /Expected a hospital name/);
  store.close();
});

test('add-hospital on a registered name is refused unless rotating; a rotated token is refused as rotated, not unknown', () => {
  // prepare
  const store = new RunStore(mkdtempSync(join(tmpdir(), 'fedxray-registry-')));
  const registry = new HospitalRegistry(store);
  const first = registry.add('st-marys');
  let changes = 0;
  registry.changes.on('change', () => changes++);

  // execute + assert: no silent replacement
  assert.throws(() => registry.add('st-marys'), /Hospital st-marys is already registered since .*; give --rotate to issue it a new token/);
  assert.deepEqual(registry.verify(first), { ok: true, name: 'st-marys', credential: hashToken(first) }, 'a refused add leaves the token working');
  assert.throws(() => registry.add('nobody', { rotate: true }), /No hospital named nobody to rotate/);
  assert.equal(changes, 0);

  const second = registry.add('st-marys', { rotate: true });
  assert.equal(changes, 1);
  assert.deepEqual(registry.verify(second), { ok: true, name: 'st-marys', credential: hashToken(second) });
  assert.deepEqual(registry.verify(first), { ok: false, reason: 'rotated' });
  assert.equal(registry.credentialState(hashToken(first)), 'rotated');
  assert.equal(registry.credentialState(hashToken(second)), 'active');

  // a certificate replaces the token the same way (by fingerprint)
  registry.addCertificate('st-marys', 'AB:CD:EF', { rotate: true });
  assert.deepEqual(registry.verify(second), { ok: false, reason: 'rotated' });
  assert.deepEqual(registry.verifyCertificate('ab:cd:ef'), { ok: true, name: 'st-marys', credential: 'abcdef' });
  assert.deepEqual(registry.list().map(({ name, credential, revokedAt }) => ({ name, credential, revokedAt })), [{ name: 'st-marys', credential: 'certificate', revokedAt: null }]);
  registry.remove('st-marys');
  assert.deepEqual(registry.verifyCertificate('abcdef'), { ok: false, reason: 'revoked' });
  assert.deepEqual(registry.verify(first), { ok: false, reason: 'rotated' }, 'a token rotated before the revocation still says rotated');
  store.close();
});

test('a store written before credentials had their own table keeps its tokens, and its revoked ones stay revoked', () => {
  // prepare: the old layout, one active and one revoked hospital
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-registry-'));
  const old = new Database(join(dir, 'fedxray.db'));
  old.exec('CREATE TABLE hospitals (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)');
  old.prepare('INSERT INTO hospitals VALUES (?, ?, ?, ?)').run('a', hashToken('token-of-a-0123456789'), 1, null);
  old.prepare('INSERT INTO hospitals VALUES (?, ?, ?, ?)').run('b', hashToken('token-of-b-0123456789'), 1, 2);
  old.close();

  // execute
  const store = new RunStore(dir);
  const registry = new HospitalRegistry(store);

  // assert
  assert.deepEqual(registry.verify('token-of-a-0123456789'), { ok: true, name: 'a', credential: hashToken('token-of-a-0123456789') });
  assert.deepEqual(registry.verify('token-of-b-0123456789'), { ok: false, reason: 'revoked' });
  store.close();
});
