/**
 * The server's own TLS certificate over its life: issued at first start, reissued when the
 * wanted SANs change or when it is due for renewal (a third of its life, at most 30 days,
 * left — `renewalDueAt`), and swapped into both listeners without a restart. The gRPC
 * listener reads it through a certificate provider (grpc-js updates the secure context of
 * a bound server when the provider says so); the REST listener through
 * `https.Server.setSecureContext`. Connections already open keep the certificate they
 * were made with; every new handshake gets the new one.
 */
import { existsSync, readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { writeFileAtomic } from '../platform/atomic.js';
import type { ServerConfig } from './config.js';
import { certValidity, renewalDueAt } from '../wire/enroll.js';
import { createServerCert, serverSans, type PemPair } from './pki.js';

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/** The server's current key and certificate, as a grpc-js certificate provider plus change hooks. */
export class ServerIdentity implements CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private readonly hooks: ((p: PemPair) => void)[] = [];

  constructor(
    private trusted: string,
    private pair: PemPair,
  ) {}

  /** The CA certificates (PEM, concatenated) whose client certificates the check-in listener accepts. */
  get caCert(): string {
    return this.trusted;
  }

  /**
   * Replace the accepted client-certificate CAs (in a spanner: this bolt's own CA and every
   * live roster bolt's). New handshakes use the new set; a no-op when it is unchanged.
   */
  setTrustedCas(bundle: string): boolean {
    if (bundle === this.trusted) return false;
    this.trusted = bundle;
    for (const l of this.caListeners) l({ caCertificate: Buffer.from(bundle) });
    return true;
  }

  get current(): PemPair {
    return this.pair;
  }

  /** Called with every new certificate after it is installed (e.g. the REST listener's setSecureContext). */
  onChange(hook: (p: PemPair) => void): void {
    this.hooks.push(hook);
  }

  install(pair: PemPair): void {
    this.pair = pair;
    const update = { certificate: Buffer.from(pair.cert), privateKey: Buffer.from(pair.key) };
    for (const l of this.identityListeners) l(update);
    for (const h of this.hooks) h(pair);
  }

  // First values are delivered on a microtask: grpc-js registers its own watcher only after
  // it has added these listeners, and would miss a synchronous call (then refuse every
  // handshake for "unloaded credentials").
  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    queueMicrotask(() => this.caListeners.has(l) && l({ caCertificate: Buffer.from(this.trusted) }));
  }
  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }
  addIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.add(l);
    queueMicrotask(() => this.identityListeners.has(l) && l({ certificate: Buffer.from(this.pair.cert), privateKey: Buffer.from(this.pair.key) }));
  }
  removeIdentityCertificateListener(l: IdentityListener): void {
    this.identityListeners.delete(l);
  }
}

function files(config: ServerConfig): { crt: string; key: string; sans: string } {
  return { crt: config.tls.cert, key: config.tls.key, sans: config.tls.sans };
}

/**
 * The server certificate to serve now: the one on disk if it names the wanted SANs and is
 * not yet due for renewal, else a fresh one (written atomically, key first).
 */
export async function ensureServerCert(config: ServerConfig, ca: PemPair, log: (m: string) => void, nowMs: number = Date.now()): Promise<PemPair> {
  const f = files(config);
  const sans = serverSans(config.server.hostname, config.server.tls_sans).sort();
  if (existsSync(f.sans) && existsSync(f.crt) && existsSync(f.key) && readFileSync(f.sans, 'utf8') === JSON.stringify(sans)) {
    const pair = { cert: readFileSync(f.crt, 'utf8'), key: readFileSync(f.key, 'utf8') };
    const v = certValidity(pair.cert);
    if (nowMs < renewalDueAt(v)) return pair;
    log(`server certificate ${v.serial} expires ${new Date(v.notAfter).toISOString()}: renewing it`);
  }
  const pair = await createServerCert(ca, sans, new Date(nowMs), config.pki.server_cert_lifetime_s);
  writeFileAtomic(f.key, pair.key, { mode: 0o600 });
  writeFileAtomic(f.crt, pair.cert, { mode: 0o644 });
  writeFileAtomic(f.sans, JSON.stringify(sans), { mode: 0o644 });
  const v = certValidity(pair.cert);
  log(`issued server certificate ${v.serial} for ${sans.join(', ')}, valid until ${new Date(v.notAfter).toISOString()}`);
  return pair;
}

/**
 * Check the served certificate periodically and renew it when due, installing the new one
 * into `identity`. Checks every 1/20 of the lifetime, at most hourly, at least every second.
 * Returns a function that stops the timer.
 */
export function keepServerCertFresh(config: ServerConfig, ca: PemPair, identity: ServerIdentity, log: (m: string) => void, now: () => number = Date.now): () => void {
  const everyMs = Math.max(1000, Math.min(3_600_000, Math.floor((config.pki.server_cert_lifetime_s * 1000) / 20)));
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    if (now() < renewalDueAt(certValidity(identity.current.cert))) return;
    busy = true;
    ensureServerCert(config, ca, log, now())
      .then((pair) => identity.install(pair))
      .catch((e: unknown) => log(`renewing the server certificate failed (the current one is kept; retrying in ${everyMs / 1000}s): ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
