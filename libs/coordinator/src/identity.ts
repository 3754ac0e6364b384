// Who a connecting hospital is: by its token, or by the client certificate it
// presented in the TLS handshake (issued by the federation's CA, see pki.ts).
import type { X509Certificate } from 'node:crypto';
import type { HospitalRegistry, Refusal } from './registry';

/** The TLS side of a connection, as much of it as identification needs (a node TLSSocket). */
interface PeerCertificateSource {
  getPeerX509Certificate?: () => X509Certificate | undefined;
}

/** How the coordinator checks a client certificate's chain: null when it was issued by the federation's CA and is valid now, else why not. */
export type CertificateCheck = (cert: X509Certificate) => string | null;

export type Identification = { ok: true; name: string; credential: string } | { ok: false; code: Refusal; message: string };

const WHAT = {
  token: { what: 'hospital token', fresh: 'token' },
  certificate: { what: 'client certificate', fresh: 'certificate and key' },
  credential: { what: 'hospital credential', fresh: 'credential' },
} as const;

/** The refusal an operator reads, for a token, a certificate, or either ('credential'). */
export function refusalMessage(reason: Refusal, kind: keyof typeof WHAT, name?: string): string {
  const { what, fresh } = WHAT[kind];
  const of = name ? ` (hospital ${name})` : '';
  if (reason === 'revoked') return `This ${what} was revoked${of}`;
  if (reason === 'rotated') return `This ${what} was replaced by a newer one${of} (rotated): use the new ${fresh}`;
  return `Unknown ${what}`;
}

/**
 * Identifies a hospital from its handshake: a token when it gave one;
 * otherwise the client certificate of its TLS connection, which must pass
 * `checkCertificate` (the federation CA's chain, validity, client use) and be
 * registered by fingerprint.
 */
export function identifyHospital(registry: HospitalRegistry, token: string | undefined, transport: unknown, checkCertificate: CertificateCheck | undefined): Identification {
  if (token !== undefined) {
    const who = registry.verify(token);
    return who.ok ? who : { ok: false, code: who.reason, message: refusalMessage(who.reason, 'token') };
  }
  const cert = (transport as PeerCertificateSource | undefined)?.getPeerX509Certificate?.();
  if (!cert) {
    return { ok: false, code: 'unauthorized', message: 'No credential: give a hospital token, or a client certificate (--cert, --key) over https://' };
  }
  const problem = checkCertificate ? checkCertificate(cert) : 'this coordinator has no federation CA to check client certificates against';
  if (problem) return { ok: false, code: 'unauthorized', message: `Client certificate refused: ${problem}` };
  const who = registry.verifyCertificate(cert.fingerprint256);
  return who.ok ? who : { ok: false, code: who.reason, message: refusalMessage(who.reason, 'certificate') };
}
