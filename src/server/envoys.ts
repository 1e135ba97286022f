/**
 * The in-memory envoy index: the hot path of a check-in reads and writes only this.
 * Check-in bookkeeping (last seen, address, policy version, fingerprint) marks the envoy
 * dirty and is flushed to SQLite in batches; enrollment, revocation and runs are written
 * through at once (runs before they are acknowledged). A restarted server rebuilds the
 * index from the database.
 *
 * Policy lag lives only in memory: an envoy that checks in holding another version than
 * the published one is offered the new bundle; if it checks in again still holding the
 * same old version, it is `stale-policy` until it moves. After a restart that takes two
 * check-ins to be noticed again.
 */
import type { Db } from './db.js';
import { envoyStatus, nextStreak, compliance, type EnvoyStatus, type Compliance } from './status.js';
import type { RunSummary, Truncation } from '../wire/run-report.js';

/** An envoy that holds another policy version than the published one. */
export interface PolicyLag {
  /** the version it holds */
  held: number;
  /** the published version at its last check-in */
  offered: number;
  sinceMs: number;
  /** check-ins seen holding `held` */
  checkins: number;
}

/** What the index asks of the published policy (PolicyState). */
export interface PublishedPolicy {
  readonly version: number;
  /** why the bundle for this hostname cannot be resolved at the current version, if it cannot */
  resolveError(hostname: string): string | null;
}

export interface EnvoyRecord {
  id: string;
  hostname: string;
  pubkeySha256: string;
  certSerial: string;
  enrolledAt: number; // unix s
  revoked: boolean;
  lastSeenMs: number | null;
  ip: string | null;
  policyVersion: number | null;
  fingerprint: string | null;
  lastRunStatus: string | null;
  lastRunAt: number | null;
  changeStreak: number;
  policyLag: PolicyLag | null;
  /** lagged beyond one check-in (see PolicyLag) */
  stalePolicy: boolean;
  /** why the envoy could not take a bundle, as its last run said (null: it said nothing) */
  policyError: string | null;
}

export interface StalePolicyView {
  held_version: number;
  published_version: number;
  since: string;
  checkins: number;
  reason: string;
}

export interface EnvoyView {
  id: string;
  hostname: string;
  ip: string | null;
  status: EnvoyStatus | 'revoked';
  revoked: boolean;
  enrolled_at: string;
  last_seen: string | null;
  policy_version: number | null;
  last_run_status: string | null;
  last_run_at: string | null;
  change_streak: number;
  connected: boolean;
  /** set while the status is stale-policy */
  stale_policy: StalePolicyView | null;
}

export interface RunInput {
  run_id: string;
  policy_version: number;
  started_at: string;
  duration_ms: number;
  status: 'ok' | 'changed' | 'failed';
  counts: { ok: number; changed: number; failed: number };
  configcrates: number;
  /** the report as stored (bounded; see run-report.ts) */
  report: string;
  /** the report's size as the envoy sent it */
  report_bytes: number;
  truncated: Truncation;
  summary: RunSummary;
  /** the envoy could not take a bundle (the run's `policy_error`) */
  policy_error: string | null;
}

interface Row {
  id: string;
  hostname: string;
  pubkey_sha256: string;
  cert_serial: string;
  enrolled_at: number;
  revoked: number;
  last_seen: number | null;
  ip: string | null;
  policy_version: number | null;
  fingerprint: string | null;
  last_run_status: string | null;
  last_run_at: number | null;
  change_streak: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class EnvoyIndex {
  private readonly byId = new Map<string, EnvoyRecord>();
  private readonly dirty = new Set<EnvoyRecord>();
  readonly connected = new Set<string>();
  private readonly flushStmt;
  private readonly flushTx;
  private readonly insertRun;
  private readonly updateRunFields;
  private readonly pruneRuns;
  /** set by the server once its policy is loaded; without it nothing is stale */
  policy: PublishedPolicy | null = null;

  constructor(
    private readonly db: Db,
    private readonly intervalMs: number,
  ) {
    this.flushStmt = db.prepare('UPDATE envoys SET last_seen = ?, ip = ?, policy_version = ?, fingerprint = ? WHERE id = ?');
    this.flushTx = db.transaction((recs: EnvoyRecord[]) => {
      for (const r of recs) this.flushStmt.run(r.lastSeenMs, r.ip, r.policyVersion, r.fingerprint, r.id);
    });
    this.insertRun = db.prepare(
      `INSERT OR IGNORE INTO runs (run_id, envoy_id, policy_version, started_at, duration_ms, status, ok, changed, failed, configcrates, report, received_at,
         report_bytes, truncated_bytes, resources_omitted, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.updateRunFields = db.prepare('UPDATE envoys SET last_run_status = ?, last_run_at = ?, change_streak = ? WHERE id = ?');
    this.pruneRuns = db.prepare('DELETE FROM runs WHERE envoy_id = ? AND seq <= (SELECT seq FROM runs WHERE envoy_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)');
    for (const row of db.prepare('SELECT * FROM envoys').all() as Row[]) this.byId.set(row.id, fromRow(row));
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): EnvoyRecord | undefined {
    return this.byId.get(id);
  }

  all(): EnvoyRecord[] {
    return [...this.byId.values()];
  }

  add(rec: Pick<EnvoyRecord, 'id' | 'hostname' | 'pubkeySha256' | 'certSerial' | 'enrolledAt'>): EnvoyRecord {
    this.db
      .prepare('INSERT INTO envoys (id, hostname, pubkey_sha256, cert_serial, enrolled_at) VALUES (?, ?, ?, ?, ?)')
      .run(rec.id, rec.hostname, rec.pubkeySha256, rec.certSerial, rec.enrolledAt);
    const full: EnvoyRecord = { ...rec, revoked: false, lastSeenMs: null, ip: null, policyVersion: null, fingerprint: null, lastRunStatus: null, lastRunAt: null, changeStreak: 0, policyLag: null, stalePolicy: false, policyError: null };
    this.byId.set(rec.id, full);
    return full;
  }

  /** (Re)load one envoy from the database into memory: one another bolt handed over. */
  load(id: string): EnvoyRecord | undefined {
    const row = this.db.prepare('SELECT * FROM envoys WHERE id = ?').get(id) as Row | undefined;
    if (!row) return undefined;
    const rec = fromRow(row);
    const old = this.byId.get(id);
    if (old) this.dirty.delete(old);
    this.byId.set(id, rec);
    return rec;
  }

  /** Forget an envoy that moved to another bolt (the caller deletes its rows). */
  drop(id: string): void {
    const rec = this.byId.get(id);
    if (rec) this.dirty.delete(rec);
    this.byId.delete(id);
    this.connected.delete(id);
  }

  revoke(id: string, nowS: number): EnvoyRecord | undefined {
    const rec = this.byId.get(id);
    if (!rec) return undefined;
    this.db.prepare('UPDATE envoys SET revoked = 1, revoked_at = ? WHERE id = ?').run(nowS, id);
    rec.revoked = true;
    return rec;
  }

  /** The hot path: a check-in was seen. No I/O. */
  seen(rec: EnvoyRecord, nowMs: number, ip: string | null, policyVersion: number, fingerprint: string): void {
    rec.lastSeenMs = nowMs;
    if (ip !== rec.ip) rec.ip = ip;
    rec.policyVersion = policyVersion;
    rec.fingerprint = fingerprint;
    this.dirty.add(rec);
    if (this.policy) this.trackLag(rec, policyVersion, this.policy.version, nowMs);
  }

  /** One check-in holding `held` while `published` is out; the second such check-in makes it stale. */
  private trackLag(rec: EnvoyRecord, held: number, published: number, nowMs: number): void {
    if (held === published) {
      rec.policyLag = null;
      rec.stalePolicy = false;
      return;
    }
    const lag = rec.policyLag;
    if (lag && lag.held === held) {
      lag.checkins++;
      lag.offered = published;
      if (lag.checkins >= 2) rec.stalePolicy = true;
      return;
    }
    rec.policyLag = { held, offered: published, sinceMs: nowMs, checkins: 1 };
    rec.stalePolicy = false;
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  /** Write up to `max` dirty records in one transaction; returns how many were written. */
  flush(max = Number.MAX_SAFE_INTEGER): number {
    if (this.dirty.size === 0) return 0;
    const batch: EnvoyRecord[] = [];
    for (const r of this.dirty) {
      batch.push(r);
      if (batch.length >= max) break;
    }
    this.flushTx(batch);
    for (const r of batch) this.dirty.delete(r);
    return batch.length;
  }

  /**
   * Record runs durably in one transaction (group commit: the check-in endpoint batches
   * the runs that arrive in one event-loop turn). Idempotent on run_id: a re-sent run is
   * acknowledged again but stored once. The in-memory records change only after the
   * commit. Returns, per run, whether it was new.
   */
  recordRuns(items: { rec: EnvoyRecord; run: RunInput }[], nowMs: number, keepPerEnvoy: number): boolean[] {
    const staged = new Map<EnvoyRecord, { streak: number; status: string; version: number | null; policyError: string | null }>();
    const fresh = this.db.transaction(() =>
      items.map(({ rec, run }) => {
        const { counts, truncated } = run;
        const ins = this.insertRun.run(
          run.run_id, rec.id, run.policy_version, run.started_at, run.duration_ms, run.status, counts.ok, counts.changed, counts.failed, run.configcrates, run.report, nowMs,
          run.report_bytes, truncated.bytes, truncated.resources_omitted, JSON.stringify(run.summary),
        );
        if (ins.changes === 0) return false;
        const prev = staged.get(rec) ?? { streak: rec.changeStreak, status: rec.lastRunStatus ?? '', version: rec.policyVersion };
        const next = {
          streak: nextStreak(prev.streak, run.status),
          status: run.status,
          version: prev.version === null || run.policy_version > prev.version ? run.policy_version : prev.version,
          policyError: run.policy_error,
        };
        staged.set(rec, next);
        this.updateRunFields.run(run.status, nowMs, next.streak, rec.id);
        this.pruneRuns.run(rec.id, rec.id, keepPerEnvoy);
        return true;
      }),
    )();
    for (const [rec, st] of staged) {
      // the run tells which policy the envoy holds, even if its next check-in is far off
      if (st.version !== rec.policyVersion) {
        rec.policyVersion = st.version;
        this.dirty.add(rec);
      }
      rec.lastRunStatus = st.status;
      rec.lastRunAt = nowMs;
      rec.changeStreak = st.streak;
      rec.policyError = st.policyError;
      // a run on another version than the lagging one means the envoy moved
      if (rec.policyLag && st.version !== rec.policyLag.held) {
        rec.policyLag = null;
        rec.stalePolicy = false;
      }
    }
    return fresh;
  }

  status(rec: EnvoyRecord, nowMs: number): EnvoyStatus | 'revoked' {
    return rec.revoked ? 'revoked' : envoyStatus(rec, nowMs, this.intervalMs);
  }

  view(rec: EnvoyRecord, nowMs: number): EnvoyView {
    return {
      id: rec.id,
      hostname: rec.hostname,
      ip: rec.ip,
      status: this.status(rec, nowMs),
      revoked: rec.revoked,
      enrolled_at: new Date(rec.enrolledAt * 1000).toISOString(),
      last_seen: iso(rec.lastSeenMs),
      policy_version: rec.policyVersion,
      last_run_status: rec.lastRunStatus,
      last_run_at: iso(rec.lastRunAt),
      change_streak: rec.changeStreak,
      connected: this.connected.has(rec.id),
      stale_policy: rec.stalePolicy && rec.policyLag ? this.staleView(rec, rec.policyLag) : null,
    };
  }

  private staleView(rec: EnvoyRecord, lag: PolicyLag): StalePolicyView {
    const published = this.policy?.version ?? lag.offered;
    const server = this.policy?.resolveError(rec.hostname) ?? null;
    const reason = server
      ? `the server cannot resolve its bundle: ${server}`
      : rec.policyError
        ? `the envoy could not take the bundle: ${rec.policyError}`
        : `it was offered version ${lag.offered} and still runs ${lag.held}, without saying why (read the agent's log on the host)`;
    return { held_version: lag.held, published_version: published, since: new Date(lag.sinceMs).toISOString(), checkins: lag.checkins, reason };
  }

  compliance(nowMs: number): Compliance {
    return compliance(this.all(), nowMs, this.intervalMs);
  }

  /** Find by id, or by unique hostname (operators type hostnames). */
  find(idOrHost: string): EnvoyRecord | undefined {
    const byId = this.byId.get(idOrHost);
    if (byId) return byId;
    const matches = this.all().filter((r) => r.hostname === idOrHost);
    const live = matches.filter((r) => !r.revoked);
    if (live.length === 1) return live[0];
    return live.length === 0 && matches.length === 1 ? matches[0] : undefined;
  }
}

function fromRow(r: Row): EnvoyRecord {
  return {
    id: r.id,
    hostname: r.hostname,
    pubkeySha256: r.pubkey_sha256,
    certSerial: r.cert_serial,
    enrolledAt: r.enrolled_at,
    revoked: r.revoked === 1,
    lastSeenMs: r.last_seen,
    ip: r.ip,
    policyVersion: r.policy_version,
    fingerprint: r.fingerprint,
    lastRunStatus: r.last_run_status,
    lastRunAt: r.last_run_at,
    changeStreak: r.change_streak,
    policyLag: null,
    stalePolicy: false,
    policyError: null,
  };
}
