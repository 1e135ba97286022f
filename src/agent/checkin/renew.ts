/**
 * Client certificate renewal, over the check-in stream the envoy already holds: once its
 * certificate is past its renewal point (`renewalDueAt`: a third of its life, at most 30
 * days, left), the envoy sends a CSR for the key it enrolled with and installs the
 * certificate it gets back — after checking that the pinned CA issued it, for this key,
 * under this envoy's id. The key never changes and never leaves the host; only envoy.crt
 * is rewritten (atomically), so a crash leaves the old certificate or the new one.
 */
import { X509Certificate } from 'node:crypto';
import { writeFileAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { certCommonName, certValidity, createEnvoyRenewalCsr, renewalDueAt } from '../../wire/enroll.js';
import type { CheckinStream } from './stream.js';

export interface HeldCert {
  envoyId: string;
  hostname: string;
  certFile: string;
  cert: string;
  key: string;
  ca: string;
}

export function renewalDue(cert: string, nowMs: number): boolean {
  return nowMs >= renewalDueAt(certValidity(cert));
}

/** Renew now; returns the new certificate PEM, already written to `certFile`. */
export async function renewCert(stream: CheckinStream, held: HeldCert, timeoutMs: number): Promise<string> {
  const csr = await createEnvoyRenewalCsr(held.hostname, held.key);
  const pem = await stream.renew(csr, timeoutMs);
  let fresh: X509Certificate;
  try {
    fresh = new X509Certificate(pem);
  } catch (e) {
    throw new VigoError('E_RENEW', `the renewed certificate does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  const old = new X509Certificate(held.cert);
  // ca.crt is a bundle in a spanner (every live bolt's CA): any of them may sign
  const cas = (held.ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
  if (!cas.some((ca) => fresh.checkIssued(ca) && fresh.verify(ca.publicKey))) throw new VigoError('E_RENEW', 'the renewed certificate is not signed by the pinned CA');
  if (certCommonName(fresh.raw) !== held.envoyId) throw new VigoError('E_RENEW', `the renewed certificate names ${certCommonName(fresh.raw) ?? 'nobody'}, not this envoy`);
  if (!fresh.publicKey.equals(old.publicKey)) throw new VigoError('E_RENEW', 'the renewed certificate is for another key');
  writeFileAtomic(held.certFile, pem, { mode: 0o644 });
  return pem;
}
