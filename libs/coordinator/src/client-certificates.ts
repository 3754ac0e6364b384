// How the coordinator checks a hospital's client certificate (mutual TLS)
// against the federation CA that pki.ts makes: node's X509Certificate only.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Extended key usage: TLS client authentication. */
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Where a data directory keeps the federation CA: `<dataDir>/pki/ca.pem` and its key `ca.key.pem` (mode 0600). */
export function caPaths(dataDir: string): { dir: string; cert: string; key: string } {
  const dir = join(dataDir, 'pki');
  return { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key.pem') };
}

/**
 * Why `cert` is not a valid hospital certificate of the CA `ca`, or null when
 * it is: issued and signed by the CA, valid now, not a CA itself, and meant for
 * client authentication.
 */
export function checkClientCertificate(cert: X509Certificate, ca: X509Certificate, now = new Date()): string | null {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return `it was not issued by this federation's CA (${cert.issuer.replaceAll('\n', ', ')})`;
  if (now < new Date(cert.validFrom)) return `it is not valid before ${cert.validFrom}`;
  if (now > new Date(cert.validTo)) return `it expired on ${cert.validTo}`;
  if (cert.ca) return 'it is a CA certificate, not a hospital’s';
  if (cert.keyUsage && !cert.keyUsage.includes(CLIENT_AUTH)) return 'it is not meant for client authentication';
  return null;
}

/**
 * The coordinator's check of a client certificate against the CA of
 * `dataDir`, read when first needed (a CA made after the coordinator started
 * is found too).
 */
export function federationCertificateCheck(dataDir: string): (cert: X509Certificate) => string | null {
  let ca: X509Certificate | null = null;
  return (cert) => {
    const path = caPaths(dataDir).cert;
    if (!ca && existsSync(path)) ca = new X509Certificate(readFileSync(path));
    if (!ca) return `there is no federation CA in ${caPaths(dataDir).dir} (\`fedxray coordinator add-hospital NAME --certificate\` makes it)`;
    return checkClientCertificate(cert, ca);
  };
}
