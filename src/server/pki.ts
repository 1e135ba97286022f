/**
 * The server's certificate authority: a self-signed ECDSA P-256 CA, the server's TLS
 * certificate (SANs: localhost, the host's addresses, the configured names), and client
 * certificates for envoys signed from an Ed25519 CSR (CN = the envoy's UUID).
 * P-256 for the CA and server keeps every TLS stack happy; envoys keep Ed25519 keys.
 * What the envoy also speaks (its CSR, certificate validity, the CA fingerprint) is in
 * src/wire/enroll.ts.
 */
import 'reflect-metadata';
import { webcrypto, createHash, X509Certificate as NodeX509, randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { VigoError } from '../platform/errors.js';
import { exportKeyPem } from '../wire/enroll.js';

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as never);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;
/** Server and envoy certificates last this long unless server.yaml says otherwise (`pki.*`). */
export const DEFAULT_CERT_LIFETIME_S = 825 * 86_400;

/** notBefore is backdated a little for clock skew, never more than a tenth of the lifetime. */
function validity(now: Date, lifetimeMs: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - Math.min(60_000, Math.floor(lifetimeMs / 10))), notAfter: new Date(now.getTime() + lifetimeMs) };
}

export interface PemPair {
  cert: string;
  key: string;
}

async function importEcKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new VigoError('E_PKI', 'CA key file holds no PEM block');
  return await webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f; // positive
  return b.toString('hex');
}

export async function createCa(commonName: string, now: Date = new Date()): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKeyPem(keys.privateKey) };
}

/** Every address of this host plus the configured names, for the server certificate. */
export function serverSans(hostname: string | undefined, extra: string[]): string[] {
  const out = new Set<string>(['localhost', 'vigosrv', '127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address.split('%')[0] ?? a.address);
  if (hostname) out.add(hostname);
  for (const s of extra) out.add(s);
  return [...out];
}

export async function createServerCert(ca: PemPair, sans: string[], now: Date = new Date(), lifetimeS: number = DEFAULT_CERT_LIFETIME_S): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importEcKey(ca.key);
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${sans.find((s) => isIP(s) === 0 && s !== 'localhost') ?? 'vigosrv'}`,
    issuer: caCert.subject,
    ...validity(now, lifetimeS * 1000),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s })),
      ),
      await authorityKeyId(caCert),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKeyPem(keys.privateKey) };
}

/** SHA-256 of a certificate's SubjectPublicKeyInfo (what `envoys.pubkey_sha256` holds). */
export function certPublicKeySha256(pem: string | Buffer): string {
  const spki = new NodeX509(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/** Server side: verify the CSR's self-signature and issue a client certificate (CN = envoy id). */
export async function signEnvoyCsr(
  ca: PemPair,
  csrPem: string,
  envoyId: string,
  now: Date = new Date(),
  lifetimeS: number = DEFAULT_CERT_LIFETIME_S,
  /** renewal: the CSR must be for this key (SHA-256 of its SPKI), checked before signing */
  requireKeySha256?: string,
): Promise<{ cert: string; publicKeySha256: string; serial: string; notAfter: number }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw new VigoError('E_BAD_CSR', `csr: not a PKCS#10 request (${e instanceof Error ? e.message : String(e)})`);
  }
  if (csr.publicKey.algorithm.name !== 'Ed25519') throw new VigoError('E_BAD_CSR', 'csr: the envoy key must be Ed25519');
  if (!(await csr.verify())) throw new VigoError('E_BAD_CSR', 'csr: signature does not verify');
  const spki = new Uint8Array(csr.publicKey.rawData);
  const publicKeySha256 = createHash('sha256').update(spki).digest('hex');
  if (requireKeySha256 !== undefined && publicKeySha256 !== requireKeySha256) throw new VigoError('E_RENEW_KEY', 'csr: not for the key this envoy enrolled with');
  return { ...(await issueEnvoyCert(ca, await csr.publicKey.export(), envoyId, now, lifetimeS)), publicKeySha256 };
}

/** A client certificate (CN = envoy id) for an envoy key, signed by this CA. */
async function issueEnvoyCert(ca: PemPair, publicKey: CryptoKey, envoyId: string, now: Date, lifetimeS: number): Promise<{ cert: string; serial: string; notAfter: number }> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importEcKey(ca.key);
  const sn = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: sn,
    subject: `CN=${envoyId}`,
    issuer: caCert.subject,
    ...validity(now, lifetimeS * 1000),
    publicKey,
    signingKey: caKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await authorityKeyId(caCert),
    ],
  });
  return { cert: cert.toString('pem'), serial: sn, notAfter: cert.notAfter.getTime() };
}

/**
 * Names the signing CA by its key: in a spanner every bolt has its own CA, often with the
 * same subject name (`vigo CA <hostname>`), and a verifier holding several of them picks
 * the issuer by this (OpenSSL tries name matches in order and would fail on the wrong one).
 */
async function authorityKeyId(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski ? new x509.AuthorityKeyIdentifierExtension(ski.keyId) : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
}

/**
 * A bolt taking over an envoy from another bolt (reassign, drain): a certificate from this
 * CA for the key the envoy already holds (its SPKI as PEM), so the envoy never presents
 * the old bolt's CA here and keeps working after that bolt is removed.
 */
export async function signEnvoyKey(ca: PemPair, spkiPem: string, envoyId: string, now: Date = new Date(), lifetimeS: number = DEFAULT_CERT_LIFETIME_S): Promise<{ cert: string; publicKeySha256: string; serial: string; notAfter: number }> {
  const der = x509.PemConverter.decode(spkiPem)[0];
  if (!der) throw new VigoError('E_BAD_KEY', 'envoy key: no PEM block');
  const alg = { name: 'Ed25519' } as const;
  const key = await webcrypto.subtle.importKey('spki', der, alg, true, ['verify']);
  const publicKeySha256 = createHash('sha256').update(new Uint8Array(der)).digest('hex');
  return { ...(await issueEnvoyCert(ca, key, envoyId, now, lifetimeS)), publicKeySha256 };
}

/** The SPKI (PEM) of a certificate's key, what `signEnvoyKey` takes. */
export function certPublicKeyPem(pem: string | Buffer): string {
  return new NodeX509(pem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
}

