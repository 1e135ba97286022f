/**
 * Who is at the other end of a swarm connection: the envoy id in a certificate that the
 * fleet CA issued to an envoy. Both sides of the transport use this.
 *
 * Why the client checks the chain itself: envoy certificates carry the clientAuth EKU only
 * (src/server/pki.ts), and OpenSSL applies the "SSL server" purpose when a TLS client
 * verifies, so a stock `rejectUnauthorized` client refuses every envoy with
 * INVALID_PURPOSE. Node's verify callback accepts every error and keeps only the last one,
 * so the OpenSSL result cannot be filtered for "purpose only" either. The client therefore
 * verifies the one-link chain here (issuer, signature, validity, EKU, not a CA) before a
 * byte of the request is written. The server side keeps OpenSSL's verification
 * (`requestCert` + `rejectUnauthorized`, ca = the fleet CA only) and only reads the id here.
 */
import { X509Certificate } from 'node:crypto';
import { certCommonName } from '../wire/enroll.js';

/** Envoy ids are the server's `randomUUID()` (src/server/rest/enroll.ts). */
const ENVOY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export class PeerCertError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PeerCertError';
  }
}

/** The envoy id a verified certificate names (its CN), or a PeerCertError. */
export function envoyIdOf(der: Buffer): string {
  let cn: string | null;
  try {
    cn = certCommonName(der);
  } catch (e) {
    throw new PeerCertError('E_PEER_CERT', `peer certificate does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (cn === null || !ENVOY_ID.test(cn)) throw new PeerCertError('E_PEER_NOT_ENVOY', `peer certificate CN ${JSON.stringify(cn)} is not an envoy id`);
  return cn;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;
/** parsed bundles: a bundle is re-parsed only when ca.crt changed */
let lastBundle: { pem: string; cas: X509Certificate[] } | null = null;

/** The CAs of ca.crt: the fleet CA, or in a spanner every live bolt's (the check-in's bundle). */
function trustedCas(pem: string): X509Certificate[] {
  if (lastBundle?.pem === pem) return lastBundle.cas;
  let cas: X509Certificate[];
  try {
    cas = (pem.match(PEM_CERT) ?? []).map((p) => new X509Certificate(p));
  } catch (e) {
    throw new PeerCertError('E_PEER_CERT', `this envoy's CA bundle does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (cas.length === 0) throw new PeerCertError('E_PEER_CERT', "this envoy's CA bundle holds no certificate");
  lastBundle = { pem, cas };
  return cas;
}

/**
 * Verify that a certificate (DER) was issued to an envoy by a CA of `caPem` (one CA, or a
 * spanner's bundle of every bolt's) and is valid at `nowMs`; returns its envoy id. Fleet envoy certificates are signed by the CA itself, so
 * the chain has one link and intermediates the peer sends are ignored.
 */
export function verifyEnvoyCertificate(der: Buffer, caPem: string, nowMs: number): string {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(der);
  } catch (e) {
    throw new PeerCertError('E_PEER_CERT', `peer certificate does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ca = trustedCas(caPem).find((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey));
  if (ca === undefined) throw new PeerCertError('E_PEER_UNTRUSTED', `peer certificate (issuer ${leaf.issuer.replace(/\n/g, ', ')}) was not issued by this fleet's CA (nor by another bolt CA of ca.crt)`);
  if (leaf.ca) throw new PeerCertError('E_PEER_NOT_ENVOY', 'peer presented a CA certificate, not an envoy certificate');
  for (const c of [leaf, ca]) {
    if (nowMs < Date.parse(c.validFrom)) throw new PeerCertError('E_PEER_CERT_TIME', `${c === ca ? 'fleet CA' : 'peer'} certificate is not valid before ${c.validFrom}`);
    if (nowMs > Date.parse(c.validTo)) throw new PeerCertError('E_PEER_CERT_TIME', `${c === ca ? 'fleet CA' : 'peer'} certificate expired ${c.validTo}`);
  }
  // an envoy certificate, not the server's (serverAuth only): the server must not pose as a peer
  if (!(leaf.keyUsage ?? []).includes(EKU_CLIENT_AUTH)) throw new PeerCertError('E_PEER_NOT_ENVOY', 'peer certificate is not an envoy certificate (no clientAuth usage)');
  return envoyIdOf(leaf.raw);
}
