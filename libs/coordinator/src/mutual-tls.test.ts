import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as connect } from 'socket.io-client';
import { PROTOCOL_VERSION } from '@fedxray/protocol';
import { Coordinator } from './coordinator';
import { caPaths } from './client-certificates';
import { FederationCa, type IssuedCertificate } from './pki';
import { config } from './testing';

/** What a TLS connection with this client certificate (or none) gets at the handshake: 'connected', or the refusal. */
function attempt(url: string, ca: string, client: IssuedCertificate | null, token?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(url, {
      transports: ['websocket'],
      auth: { protocolVersion: PROTOCOL_VERSION, ...(token ? { token } : {}) },
      reconnection: false,
      ca,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    });
    s.on('connect', () => {
      s.disconnect();
      resolve('connected');
    });
    s.on('connect_error', (err: Error & { data?: { code: string; message: string } }) => {
      s.disconnect();
      resolve(err.data ? `${err.data.code}: ${err.data.message}` : `error: ${err.message}`);
    });
  });
}

/** A coordinator serving TLS with a server certificate from its own federation CA, and that CA. */
async function mtlsCoordinator(): Promise<{ c: Coordinator; ca: FederationCa; caPem: string }> {
  const cfg = config({ rounds: 1, minAvailable: 5, staticTokens: { other: 'other-token-0123456789abcd' } });
  const ca = await FederationCa.open(cfg.dataDir);
  const server = await ca.issue({ commonName: '127.0.0.1', use: 'server', hosts: ['127.0.0.1', 'localhost'] });
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-mtls-'));
  writeFileSync(join(dir, 'cert.pem'), server.certPem);
  writeFileSync(join(dir, 'key.pem'), server.keyPem);
  const c = await Coordinator.start({ ...cfg, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
  return { c, ca, caPem: ca.cert.toString() };
}

// reliability: a hospital presenting a client certificate that is forged (another CA), unregistered, or missing | refused at the TLS-authenticated handshake, naming why | no | "unauthorized: Client certificate refused: it was not issued by this federation's CA" or "Unknown client certificate"
test('mutual TLS: a registered certificate of the federation CA is accepted; another CA, an unregistered one and none at all are refused', { timeout: 60_000 }, async () => {
  // prepare
  const { c, ca, caPem } = await mtlsCoordinator();
  const registered = await ca.issue({ commonName: 'st-marys', use: 'client' });
  c.registry.addCertificate('st-marys', registered.fingerprint);
  const unregistered = await ca.issue({ commonName: 'st-marys', use: 'client' });
  const stranger = await (await FederationCa.open(mkdtempSync(join(tmpdir(), 'fedxray-other-ca-')))).issue({ commonName: 'st-marys', use: 'client' });
  const serverUse = await ca.issue({ commonName: 'st-marys', use: 'server' });
  c.registry.addCertificate('county', serverUse.fingerprint);
  try {
    // execute + assert
    assert.equal(await attempt(c.url, caPem, registered), 'connected');
    assert.equal(await attempt(c.url, caPem, unregistered), 'unauthorized: Unknown client certificate');
    assert.match(await attempt(c.url, caPem, stranger), /^unauthorized: Client certificate refused: it was not issued by this federation's CA \(CN=fedxray federation CA [0-9a-f]{8}\)$/);
    assert.equal(await attempt(c.url, caPem, serverUse), 'unauthorized: Client certificate refused: it is not meant for client authentication');
    assert.equal(await attempt(c.url, caPem, null), 'unauthorized: No credential: give a hospital token, or a client certificate (--cert, --key) over https://');
    assert.equal(await attempt(c.url, caPem, null, 'other-token-0123456789abcd'), 'connected', 'tokens still work beside certificates');
  } finally {
    await c.stop();
  }
});

// reliability: a revoked or replaced client certificate | refused as revoked or rotated, like a token | no | "revoked: This client certificate was revoked" / "rotated: This client certificate was replaced by a newer one (rotated)"
test('mutual TLS: revocation and rotation cover certificates: a revoked certificate is refused as revoked, a replaced one as rotated', { timeout: 60_000 }, async () => {
  // prepare
  const { c, ca, caPem } = await mtlsCoordinator();
  const first = await ca.issue({ commonName: 'st-marys', use: 'client' });
  c.registry.addCertificate('st-marys', first.fingerprint);
  const second = await ca.issue({ commonName: 'st-marys', use: 'client' });
  try {
    // execute + assert
    c.registry.addCertificate('st-marys', second.fingerprint, { rotate: true });
    assert.equal(await attempt(c.url, caPem, first), 'rotated: This client certificate was replaced by a newer one (rotated): use the new certificate and key');
    assert.equal(await attempt(c.url, caPem, second), 'connected');
    c.registry.remove('st-marys');
    assert.equal(await attempt(c.url, caPem, second), 'revoked: This client certificate was revoked');
  } finally {
    await c.stop();
  }
});

test('the federation CA is made once per data directory, its key readable by its owner only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-ca-'));
  const a = await FederationCa.open(dir);
  const b = await FederationCa.open(dir);
  assert.equal(a.cert.fingerprint256, b.cert.fingerprint256);
  assert.equal(statSync(caPaths(dir).key).mode & 0o777, 0o600);
  assert.equal(a.cert.ca, true);
});
