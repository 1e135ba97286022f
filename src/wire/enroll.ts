/**
 * Enrollment, as both ends speak it: the envoy's CSR (a fresh Ed25519 key, or the key it
 * holds at renewal), the certificate facts both read (validity, renewal due time, CN, CA
 * fingerprint), and the enrollment token's format (`vget_<secret>.<CA fingerprint prefix>`,
 * so an envoy can check the server's CA before it sends anything). The CA itself, which
 * signs, is the server's (src/server/pki.ts).
 */
import 'reflect-metadata';
import { webcrypto, createPrivateKey, createPublicKey, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as never);

const DAY = 86_400_000;

export interface CertValidity {
  notBefore: number; // ms since the epoch
  notAfter: number;
  serial: string;
}

export function certValidity(pem: string | Buffer): CertValidity {
  const c = new NodeX509(pem);
  return { notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo), serial: c.serialNumber.toLowerCase() };
}

/**
 * When a certificate is due for renewal: once a third of its life (at most 30 days) is
 * left, i.e. at 2/3 of its lifetime for short-lived ones. Both the server (its own
 * certificate) and the envoy (its client certificate) use this rule.
 */
export function renewalDueAt(v: Pick<CertValidity, 'notBefore' | 'notAfter'>): number {
  return v.notAfter - Math.min(30 * DAY, Math.floor((v.notAfter - v.notBefore) / 3));
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Envoy side: a fresh Ed25519 key and a CSR for it (proof of possession). */
export async function createEnvoyCsr(hostname: string): Promise<{ csr: string; key: string }> {
  const alg = { name: 'Ed25519' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { csr: await csrFor(hostname, keys), key: await exportKeyPem(keys.privateKey) };
}

async function csrFor(hostname: string, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${hostname.replace(/[,+="<>#;\\]/g, '_')}`,
    keys,
    signingAlgorithm: { name: 'Ed25519' },
  });
  return csr.toString('pem');
}

/** Envoy side, at renewal: a CSR for the key the envoy already holds (envoy.key, PKCS#8 PEM). */
export async function createEnvoyRenewalCsr(hostname: string, keyPem: string): Promise<string> {
  const alg = { name: 'Ed25519' } as const;
  const priv = createPrivateKey(keyPem);
  const spki = createPublicKey(priv).export({ type: 'spki', format: 'der' });
  const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' });
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', spki, alg, true, ['verify']),
  } as CryptoKeyPair;
  return await csrFor(hostname, keys);
}

/** SHA-256 of a certificate's DER, lowercase hex (the CA fingerprint operators compare). */
export function certFingerprint(pem: string): string {
  return new NodeX509(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** The CN of a certificate's subject (the envoy id on client certs). */
export function certCommonName(der: Buffer): string | null {
  const subject = new NodeX509(der).subject;
  const m = /(?:^|\n)CN=([^\n]+)/.exec(subject);
  return m?.[1] ?? null;
}

/** An enrollment token: 24 random bytes and the first 32 hex digits of the CA's fingerprint. */
export function formatEnrollToken(secret: Uint8Array, caFingerprint: string): string {
  return `vget_${Buffer.from(secret).toString('base64url')}.${caFingerprint.slice(0, 32)}`;
}

/** The CA fingerprint prefix an enrollment token carries (null if malformed). */
export function enrollTokenCaPrefix(token: string): string | null {
  const m = /^vget_[A-Za-z0-9_-]{32}\.([0-9a-f]{32})$/.exec(token);
  return m?.[1] ?? null;
}
