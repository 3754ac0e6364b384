import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HospitalConfigSchema } from './config';
import { tlsOptions } from './transport';

const BASE = { coordinator: 'https://coordinator.example.org:8443', trainer: { data: { dir: '/unused' } } };

/** The issues a config gets, as `path: message`. */
function issues(input: Record<string, unknown>): string[] {
  const r = HospitalConfigSchema.safeParse({ ...BASE, ...input });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('a hospital proves who it is with a token or a client certificate over https, exactly one of them', () => {
  assert.deepEqual(issues({ token: 'token-0123456789abcdef' }), []);
  assert.deepEqual(issues({ cert: 'c.pem', key: 'k.pem' }), []);
  assert.deepEqual(issues({}), ['token: give a token, or a client certificate (cert and key)']);
  assert.deepEqual(issues({ cert: 'c.pem' }), ['key: a client certificate needs both cert and key']);
  assert.deepEqual(issues({ cert: 'c.pem', key: 'k.pem', token: 'token-0123456789abcdef' }), ['token: give a token or a client certificate, not both']);
  assert.deepEqual(issues({ cert: 'c.pem', key: 'k.pem', coordinator: 'http://127.0.0.1:8080' }), [
    'coordinator: a client certificate is presented over TLS only: the coordinator URL must be https://, but got http://127.0.0.1:8080',
  ]);
});

test('the TLS files are read once, and an unreadable one is named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-tls-'));
  writeFileSync(join(dir, 'c.pem'), 'CERT');
  writeFileSync(join(dir, 'k.pem'), 'KEY');
  const read = tlsOptions({ cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') });
  assert.deepEqual([read.ca, read.cert?.toString(), read.key?.toString()], [undefined, 'CERT', 'KEY']);
  assert.throws(() => tlsOptions({ ca: join(dir, 'missing.pem') }), /^Error: Cannot read the CA certificate \(--ca\) .*missing\.pem: ENOENT/);
});
