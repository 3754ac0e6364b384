// The federation's own certificate authority, for hospitals that prove who they
// are with a client certificate (mutual TLS) instead of a bearer token. Keys are
// ECDSA P-256 from node's WebCrypto; node has no X.509 writer, so certificates
// are built by @peculiar/x509 (which needs the reflect-metadata polyfill) and
// read and checked with node's own X509Certificate. The library is loaded only
// when a certificate is made, so a coordinator that merely serves never loads it.
import type * as X509 from '@peculiar/x509';
import { X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { CLIENT_AUTH, caPaths } from './client-certificates';

let library: Promise<typeof X509> | null = null;

/** @peculiar/x509, loaded once, on node's WebCrypto. */
function x509lib(): Promise<typeof X509> {
  library ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    return x509;
  })();
  return library;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const DAY_MS = 86_400_000;

/** A certificate and its private key, PEM. */
export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the certificate's DER bytes, as node prints it (`AB:CD:…`). */
  fingerprint: string;
}

export interface IssueOptions {
  /** The subject's common name: the hospital's name, or the coordinator's host. */
  commonName: string;
  /** A client certificate (a hospital) or a server certificate (the coordinator). */
  use: 'client' | 'server';
  /** Days the certificate is valid. @default 365 */
  days?: number;
  /** For a server certificate: the host names and IP addresses it is valid for. @default [commonName] */
  hosts?: string[];
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // a positive serial number
  return bytes.toString('hex');
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  return toPem(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** Writes a private key readable by its owner only; refuses to overwrite. */
export function writePrivateKey(path: string, pem: string): void {
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600); // whatever the umask
}

/**
 * The federation CA of a data directory. `open` creates it on first use:
 * a self-signed CA certificate valid for 10 years, and its key (mode 0600).
 */
export class FederationCa {
  private constructor(
    readonly cert: X509Certificate,
    private readonly key: CryptoKey,
    readonly certPath: string,
  ) {}

  /** Opens the CA of `dataDir`, creating it when there is none. */
  static async open(dataDir: string): Promise<FederationCa> {
    const paths = caPaths(dataDir);
    if (!existsSync(paths.cert)) await FederationCa.create(paths);
    const certPem = readFileSync(paths.cert, 'utf8');
    const keyDer = createPrivateKey(readFileSync(paths.key)).export({ type: 'pkcs8', format: 'der' });
    const key = await webcrypto.subtle.importKey('pkcs8', keyDer, ALGORITHM, false, ['sign']);
    return new FederationCa(new X509Certificate(certPem), key as CryptoKey, paths.cert);
  }

  private static async create(paths: { dir: string; cert: string; key: string }): Promise<void> {
    mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    const x509 = await x509lib();
    const keys = await keyPair();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=fedxray federation CA ${randomBytes(4).toString('hex')}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3650 * DAY_MS),
      signingAlgorithm: ALGORITHM,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writePrivateKey(paths.key, await privatePem(keys.privateKey));
    writeFileSync(paths.cert, cert.toString('pem') + '\n', { flag: 'wx' });
  }

  /** Issues a certificate signed by this CA, with a fresh P-256 key. */
  async issue(options: IssueOptions): Promise<IssuedCertificate> {
    const x509 = await x509lib();
    const keys = await keyPair();
    const issuer = new x509.X509Certificate(this.cert.raw);
    const now = Date.now();
    const hosts = options.hosts ?? [options.commonName];
    const extensions: X509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([options.use === 'client' ? CLIENT_AUTH : SERVER_AUTH], false),
      await x509.AuthorityKeyIdentifierExtension.create(issuer),
    ];
    if (options.use === 'server') {
      extensions.push(new x509.SubjectAlternativeNameExtension(hosts.map((h): X509.JsonGeneralName => ({ type: isIP(h) ? 'ip' : 'dns', value: h }))));
    }
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${options.commonName}`,
      issuer: issuer.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + (options.days ?? 365) * DAY_MS),
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions,
    });
    const certPem = cert.toString('pem') + '\n';
    return { certPem, keyPem: await privatePem(keys.privateKey), fingerprint: new X509Certificate(certPem).fingerprint256 };
  }
}
