/**
 * What the server knows about each envoy's client certificate: serial and validity, from
 * enrollment, from every renewal, and from the certificate an envoy presents when its
 * stream opens (so envoys enrolled before this table existed are known after their first
 * check-in). Kept in memory, written through to `envoy_certs` only when it changes.
 * `summary` is what `server status` and `/metrics` report: certificates past their renewal
 * point (a healthy envoy renews there, so these are envoys whose renewal is failing) and
 * expired ones.
 */
import type { Db } from '../db.js';
import { certValidity, renewalDueAt, type CertValidity } from '../../wire/enroll.js';
import { certPublicKeyPem } from '../pki.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS envoy_certs (
  envoy_id TEXT PRIMARY KEY, serial TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS envoy_keys (envoy_id TEXT PRIMARY KEY, spki_pem TEXT NOT NULL)`;

export interface NearExpiry {
  envoy_id: string;
  hostname: string;
  not_after: string;
  expired: boolean;
}

export interface CertSummary {
  /** envoys whose certificate is past its renewal point but not expired */
  renewal_due: number;
  expired: number;
  /** the soonest expiry among active envoys (ISO), or null */
  next_expiry: string | null;
  /** up to 20 of them, soonest first */
  near_expiry: NearExpiry[];
}

export class EnvoyCerts {
  private readonly byId = new Map<string, CertValidity>();
  private readonly pending = new Map<string, CertValidity>();
  private flushScheduled = false;
  private readonly keys = new Set<string>();

  constructor(private readonly db: Db) {
    db.exec(SCHEMA);
    for (const r of db.prepare('SELECT envoy_id FROM envoy_keys').all() as { envoy_id: string }[]) this.keys.add(r.envoy_id);
    for (const r of db.prepare('SELECT envoy_id, serial, not_before, not_after FROM envoy_certs').all() as { envoy_id: string; serial: string; not_before: number; not_after: number }[]) {
      this.byId.set(r.envoy_id, { serial: r.serial, notBefore: r.not_before, notAfter: r.not_after });
    }
  }

  get(id: string): CertValidity | undefined {
    return this.byId.get(id);
  }

  /**
   * Keep the envoy's public key (from its certificate), once: a bolt handing the envoy to
   * another bolt sends it, and the new bolt signs a certificate for it (server/envoy-move.ts).
   * Envoys enrolled before this table get theirs at their next stream.
   */
  recordKey(id: string, cert: string | Buffer): void {
    if (this.keys.has(id)) return;
    const pem = certPublicKeyPem(cert);
    this.db.prepare('INSERT OR REPLACE INTO envoy_keys (envoy_id, spki_pem) VALUES (?, ?)').run(id, pem);
    this.keys.add(id);
  }

  keyPem(id: string): string | undefined {
    return (this.db.prepare('SELECT spki_pem FROM envoy_keys WHERE envoy_id = ?').get(id) as { spki_pem: string } | undefined)?.spki_pem;
  }

  /** Forget a moved envoy's certificate and key (it is another bolt's now). */
  forget(id: string): void {
    this.byId.delete(id);
    this.pending.delete(id);
    this.keys.delete(id);
    this.db.prepare('DELETE FROM envoy_certs WHERE envoy_id = ?').run(id);
    this.db.prepare('DELETE FROM envoy_keys WHERE envoy_id = ?').run(id);
  }

  /** Record a certificate for an envoy (a no-op when it is the one already known). */
  record(id: string, v: CertValidity): void {
    const known = this.byId.get(id);
    if (known && known.serial === v.serial) return;
    // a stream opened with an older certificate than the newest issued says nothing new
    if (known && v.notAfter < known.notAfter) return;
    this.byId.set(id, v);
    // one transaction per event-loop turn: a fleet upgrading to this version writes a row
    // per envoy at its first connect, and 10,000 separate fsyncs would stall check-ins
    this.pending.set(id, v);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Write what changed since the last flush (also called at stop). */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.size === 0) return;
    const rows = [...this.pending];
    this.pending.clear();
    const upsert = this.db.prepare('INSERT INTO envoy_certs (envoy_id, serial, not_before, not_after) VALUES (?, ?, ?, ?) ON CONFLICT(envoy_id) DO UPDATE SET serial = excluded.serial, not_before = excluded.not_before, not_after = excluded.not_after');
    this.db.transaction(() => {
      for (const [id, v] of rows) upsert.run(id, v.serial, v.notBefore, v.notAfter);
    })();
  }

  summary(active: { id: string; hostname: string }[], nowMs: number): CertSummary {
    const near: (NearExpiry & { at: number })[] = [];
    let soonest: number | null = null;
    let due = 0;
    let expired = 0;
    for (const e of active) {
      const v = this.byId.get(e.id);
      if (!v) continue;
      if (soonest === null || v.notAfter < soonest) soonest = v.notAfter;
      if (nowMs < renewalDueAt(v)) continue;
      const isExpired = nowMs >= v.notAfter;
      if (isExpired) expired++;
      else due++;
      near.push({ envoy_id: e.id, hostname: e.hostname, not_after: new Date(v.notAfter).toISOString(), expired: isExpired, at: v.notAfter });
    }
    near.sort((a, b) => a.at - b.at);
    return {
      renewal_due: due,
      expired,
      next_expiry: soonest === null ? null : new Date(soonest).toISOString(),
      near_expiry: near.slice(0, 20).map(({ at: _at, ...rest }) => rest),
    };
  }
}

export interface CertificateStatus {
  server: { serial: string; not_after: string; renew_at: string; expires_in_s: number } | null;
  envoys: CertSummary;
}

/** The `certificates` block of `GET /api/v1/status` (and `vigocli server status`). */
export function certificateStatus(serverCert: string | undefined, certs: EnvoyCerts, active: { id: string; hostname: string }[], nowMs: number): CertificateStatus {
  let server: CertificateStatus['server'] = null;
  if (serverCert) {
    const v = certValidity(serverCert);
    server = { serial: v.serial, not_after: new Date(v.notAfter).toISOString(), renew_at: new Date(renewalDueAt(v)).toISOString(), expires_in_s: Math.round((v.notAfter - nowMs) / 1000) };
  }
  return { server, envoys: certs.summary(active, nowMs) };
}
