/**
 * Envoys moving between bolts (`bolt reassign`, `bolt drain`, `bolt remove`) and the
 * spanner's side of check-ins (the CA bundle, moved envoys). See docs/spanner.md "Moving
 * envoys".
 *
 * A move is a two-phase record on the bolt that owns the envoy (S), to a target bolt (T):
 *   1. S writes an intent row (envoy_moves) and stops taking the envoy's runs (they stay
 *      spooled on the envoy); runs already received are committed first.
 *   2. S hands the envoy's row, its key and its runs to T (PEER_ACCEPT_PATH, signed). T
 *      records them in one transaction (idempotent by envoy id and run id) and answers
 *      with a certificate for the envoy's key signed by T's CA and its check-in address.
 *   3. S, in one transaction, deletes the envoy and its runs, writes where it went
 *      (envoys_moved) and drops the intent. Then it pushes the envoy, whose next check-in
 *      is answered with `Moved`.
 * S's database decides who owns the envoy: until step 3 commits S does. A bolt killed
 * between 1 and 3 finds the intent at restart and sends step 2 again (T answers the same
 * way) until T answers for good; a refusal from T (4xx) drops the intent and S keeps the
 * envoy. So after the restart every envoy is owned by exactly one bolt.
 */
import { createHash } from 'node:crypto';
import { VigoError } from '../platform/errors.js';
import type { MovedMsg } from '../wire/checkin.js';
import { certValidity } from '../wire/enroll.js';
import type { AcceptAnswer, Bolt, DrainResult, EnvoyHandover, MovedEnvoy, Peer } from '../spanner/index.js';
import { PEER_ACCEPT_PATH, PEER_DRAIN_PATH, PEER_REVOKED_PATH, MOVE_RUNS_MAX_BYTES } from '../spanner/index.js';
import { globMatches } from './stacks/glob.js';
import { signEnvoyKey, type PemPair } from './pki.js';
import { splitHostPort, type ServerConfig } from './config.js';
import type { Db } from './db.js';
import type { EnvoyIndex, EnvoyRecord } from './envoys.js';
import type { CheckinServer, CheckinSpanner } from './checkin/server.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS envoy_moves (envoy_id TEXT PRIMARY KEY, to_bolt TEXT NOT NULL, started_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS envoys_moved (
  envoy_id TEXT PRIMARY KEY, hostname TEXT NOT NULL, bolt_id TEXT NOT NULL, grpc_addr TEXT NOT NULL,
  server TEXT NOT NULL, cert TEXT NOT NULL, ca_bundle TEXT NOT NULL, moved_at INTEGER NOT NULL);
`;

/** How long the hub waits for a bolt it removes to drain itself. */
const DRAIN_TIMEOUT_MS = 300_000;
/** How many envoys a drain hands over at once. */
const DRAIN_PARALLEL = 4;
/** How often a bolt retries the moves a crash or an unreachable target left open. */
export const MOVE_RESUME_EVERY_MS = 3000;

const RUN_COLUMNS = ['run_id', 'policy_version', 'started_at', 'duration_ms', 'status', 'ok', 'changed', 'failed', 'configcrates', 'report', 'received_at', 'report_bytes', 'truncated_bytes', 'resources_omitted', 'summary'] as const;

export interface EnvoyMovesOptions {
  config: ServerConfig;
  db: Db;
  index: EnvoyIndex;
  checkin: CheckinServer;
  bolt: Bolt;
  ca: PemPair;
  grpcPort: number;
  log: (m: string) => void;
  now: () => number;
}

function refuse(code: string, message: string, hint?: string): never {
  throw new VigoError(code, message, hint ? { hint } : {});
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export class EnvoyMoves implements CheckinSpanner {
  private readonly moved = new Map<string, MovedMsg>();
  private readonly movingIds = new Set<string>();
  /** hand-overs on the wire now (a drain's and the resumer's must not race for one envoy) */
  private readonly inFlight = new Set<string>();
  private trustCache = { bundle: '', sha256: '' };
  private resumer: NodeJS.Timeout | undefined;
  private resuming = false;

  constructor(private readonly o: EnvoyMovesOptions) {
    o.db.exec(SCHEMA);
    for (const r of o.db.prepare('SELECT * FROM envoys_moved').all() as { envoy_id: string; bolt_id: string; grpc_addr: string; server: string; cert: string; ca_bundle: string }[]) {
      this.moved.set(r.envoy_id, { bolt_id: r.bolt_id, grpc_addr: r.grpc_addr, server: r.server, cert: r.cert, ca_bundle: r.ca_bundle });
    }
    for (const r of o.db.prepare('SELECT envoy_id FROM envoy_moves').all() as { envoy_id: string }[]) this.movingIds.add(r.envoy_id);
    this.refreshTrust();
  }

  // --- check-in hooks ----------------------------------------------------------------------

  movedTo(id: string): MovedMsg | undefined {
    return this.moved.get(id);
  }

  moving(id: string): boolean {
    return this.movingIds.has(id);
  }

  trust(): { bundle: string; sha256: string } {
    return this.trustCache;
  }

  /** Recompute the CA bundle from the roster; true when it changed (the caller installs it in the listener). */
  refreshTrust(): boolean {
    const bundle = this.o.bolt.trustBundle();
    if (bundle === this.trustCache.bundle) return false;
    this.trustCache = { bundle, sha256: sha256(bundle) };
    return true;
  }

  /** This bolt's check-in address and REST URL, as envoys and peers dial them. */
  addresses(): { grpc_addr: string; server: string } {
    const adv = this.o.config.spanner.advertise ?? `127.0.0.1:${splitHostPort(this.o.config.server.api_listen).port}`;
    return { grpc_addr: this.o.config.server.grpc_advertise ?? `${splitHostPort(adv).host}:${this.o.grpcPort}`, server: `https://${adv}` };
  }

  /** Which bolt a hostname belongs to (null: none matches; the caller decides). */
  route(hostname: string, excludeSelf = false) {
    return this.o.bolt.route(hostname, globMatches, excludeSelf ? [this.o.bolt.identity.pubkey] : []);
  }

  // --- the owner's side --------------------------------------------------------------------

  private owned(envoy: string): EnvoyRecord {
    const rec = this.o.index.find(envoy);
    const self = this.o.bolt.boltId;
    if (!rec) {
      const gone = this.moved.get(envoy);
      if (gone) refuse('E_NOT_OWNER', `bolt ${self} does not own envoy ${envoy}: it moved to bolt ${gone.bolt_id}`, `name --from ${gone.bolt_id}`);
      refuse('E_ENVOY_UNKNOWN', `no envoy ${envoy} at bolt ${self}`, 'if another bolt owns it, name that bolt as --from (`vigocli spanner bolt envoys <bolt-id>` lists a bolt\'s envoys)');
    }
    if (rec.revoked) refuse('E_ENVOY_REVOKED', `envoy ${rec.hostname} (${rec.id}) is revoked; revoked envoys stay where they are`);
    return rec;
  }

  /** `bolt reassign`: this bolt (--from) hands one envoy to `to`. */
  async reassign(envoy: string, from: string, to: string): Promise<MovedEnvoy> {
    this.mustBeUsable();
    if (from !== this.o.bolt.boltId) refuse('E_NOT_THIS_BOLT', `this is bolt ${this.o.bolt.boltId}, not --from ${from}`, `send the request to bolt ${from}`);
    const rec = this.owned(envoy);
    const { peer } = this.o.bolt.livePeer(to, '--to');
    return this.handOver(rec, to, peer);
  }

  /**
   * `bolt drain`: every envoy of this bolt to `to`, or each to the first other live bolt
   * whose pattern matches its hostname. Refuses before moving anything when one has
   * nowhere to go, naming it.
   */
  async drain(to?: string): Promise<DrainResult> {
    this.mustBeUsable();
    const envoys = this.o.index.all().filter((e) => !e.revoked);
    const plan: { rec: EnvoyRecord; to: string; peer: Peer }[] = [];
    if (to !== undefined) {
      const { peer } = this.o.bolt.livePeer(to, '--to');
      for (const rec of envoys) plan.push({ rec, to, peer });
    } else {
      const nowhere: string[] = [];
      for (const rec of envoys) {
        const owner = this.route(rec.hostname, true);
        if (owner === null) nowhere.push(rec.hostname);
        else plan.push({ rec, to: owner.bolt_id, peer: this.o.bolt.livePeer(owner.bolt_id, 'bolt').peer });
      }
      if (nowhere.length > 0) {
        refuse('E_DRAIN_NOWHERE', `${nowhere.length} envoy(s) match no other live bolt's patterns: ${nowhere.slice(0, 20).join(', ')}${nowhere.length > 20 ? ', …' : ''}; nothing was moved`, 'name a target with --to <bolt-id>, or add a pattern for them to another bolt');
      }
    }
    this.o.log(`draining bolt ${this.o.bolt.boltId}: ${plan.length} envoy(s)${to ? ` to ${to}` : ' by pattern'}`);
    const result: DrainResult = { bolt_id: this.o.bolt.boltId, moved: [], pending: [] };
    let next = 0;
    const worker = async () => {
      while (next < plan.length) {
        const p = plan[next++]!;
        try {
          result.moved.push(await this.handOver(p.rec, p.to, p.peer));
        } catch (e) {
          result.pending.push({ envoy_id: p.rec.id, hostname: p.rec.hostname, to: p.to, error: e instanceof Error ? e.message : String(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: DRAIN_PARALLEL }, worker));
    result.moved.sort((a, b) => (a.hostname < b.hostname ? -1 : 1));
    return result;
  }

  /**
   * `bolt remove`, on the hub: the bolt drains itself (auto-routed), then the founder signs
   * its revocation, which gossips; the removed bolt is told directly (gossip goes to live
   * bolts only). Nothing is revoked when the drain is refused or leaves envoys moving.
   */
  async remove(boltId: string): Promise<{ bolt_id: string; drained: DrainResult; revoked_at: string }> {
    const b = this.o.bolt;
    if (!b.founder) refuse('E_NOT_FOUNDER', `only the hub (the spanner's founder) removes bolts; this bolt (${b.boltId}) is not it`, 'run `vigocli spanner bolt remove` against the hub');
    const { peer } = b.livePeer(boltId, 'bolt');
    let r;
    try {
      r = await b.callPeer<DrainResult & { message?: string; code?: string }>(peer, 'POST', PEER_DRAIN_PATH, {}, DRAIN_TIMEOUT_MS);
    } catch (e) {
      return refuse('E_PEER', `bolt ${boltId} did not answer the drain (${e instanceof Error ? e.message : String(e)}); nothing was revoked`, 'check that it is up, then run `bolt remove` again');
    }
    if (r.status !== 200) refuse(typeof r.body?.code === 'string' && r.body.code.startsWith('E_') ? r.body.code : 'E_PEER', `bolt ${boltId} refused to drain: ${r.body?.message ?? `HTTP ${r.status}`}; nothing was revoked`);
    const drained = r.body;
    if (drained.pending.length > 0) refuse('E_MOVE', `bolt ${boltId} moved ${drained.moved.length} envoy(s), but ${drained.pending.length} are still moving (${drained.pending.slice(0, 5).map((p) => `${p.hostname}: ${p.error}`).join('; ')}); nothing was revoked`, 'run `bolt remove` again once they have moved');
    const row = await b.revoke(boltId, 'removed with `vigocli spanner bolt remove`');
    try {
      await b.callPeer(peer, 'POST', PEER_REVOKED_PATH, { rows: [row] });
    } catch (e) {
      this.o.log(`bolt ${boltId} revoked, but it could not be told directly (${e instanceof Error ? e.message : String(e)}); it learns it from the roster when it next pulls`);
    }
    return { bolt_id: boltId, drained, revoked_at: new Date(row.revoked_at * 1000).toISOString() };
  }

  private mustBeUsable(): void {
    if (this.o.bolt.removed) refuse('E_SPANNER_REVOKED', `this bolt (${this.o.bolt.boltId}) was removed from the spanner`, 'its envoys were drained; work with a live bolt');
  }

  /** Phase 1 to 3 for one envoy (see the file comment). */
  private async handOver(rec: EnvoyRecord, to: string, peer: Peer): Promise<MovedEnvoy> {
    const { db } = this.o;
    if (this.movingIds.has(rec.id)) {
      const row = db.prepare('SELECT to_bolt FROM envoy_moves WHERE envoy_id = ?').get(rec.id) as { to_bolt: string } | undefined;
      refuse('E_MOVE', `envoy ${rec.hostname} is already moving${row ? ` to bolt ${row.to_bolt}` : ''}`, 'wait for it to finish (it is retried every few seconds)');
    }
    if (!this.o.checkin.certs.keyPem(rec.id)) refuse('E_ENVOY_KEY', `envoy ${rec.hostname} (${rec.id}) has not checked in since this bolt learned envoy keys; its key is not known here`, 'wait for its next check-in, then move it');
    db.prepare('INSERT INTO envoy_moves (envoy_id, to_bolt, started_at) VALUES (?, ?, ?)').run(rec.id, to, Math.floor(this.o.now() / 1000));
    this.movingIds.add(rec.id);
    // runs that arrived before the intent are committed on the next turn: let them land first
    await new Promise((r) => setImmediate(r));
    try {
      return await this.transfer(rec.id, to, peer);
    } catch (e) {
      if (e instanceof VigoError && e.code === 'E_MOVE_REFUSED') this.abort(rec.id, e.message);
      throw e;
    }
  }

  private handoverBody(id: string): EnvoyHandover {
    const { db, index } = this.o;
    index.flush();
    const e = db.prepare('SELECT * FROM envoys WHERE id = ?').get(id) as EnvoyHandover['envoy'] & Record<string, unknown>;
    const runs: Record<string, unknown>[] = [];
    let bytes = 0;
    for (const r of db.prepare(`SELECT ${RUN_COLUMNS.join(', ')} FROM runs WHERE envoy_id = ? ORDER BY seq DESC`).iterate(id) as Iterable<Record<string, unknown>>) {
      bytes += String(r.report ?? '').length + 512;
      if (bytes > MOVE_RUNS_MAX_BYTES) break; // the newest runs go; older ones past the cap stay behind, deleted with the envoy
      runs.push(r);
    }
    runs.reverse();
    return {
      from_bolt: this.o.bolt.boltId,
      envoy: {
        id: e.id, hostname: e.hostname, pubkey_sha256: e.pubkey_sha256, pubkey_pem: this.o.checkin.certs.keyPem(id)!, enrolled_at: e.enrolled_at,
        last_seen: e.last_seen, ip: e.ip, policy_version: e.policy_version, fingerprint: e.fingerprint, last_run_status: e.last_run_status, last_run_at: e.last_run_at, change_streak: e.change_streak,
      },
      runs,
    };
  }

  /** Phase 2 and 3. Throws E_MOVE_REFUSED when the target refused for good, E_MOVE when it could not be asked. */
  private async transfer(id: string, to: string, peer: Peer): Promise<MovedEnvoy> {
    if (this.inFlight.has(id)) refuse('E_MOVE', `envoy ${id} is being handed over already`, 'wait for it to finish');
    this.inFlight.add(id);
    try {
      return await this.transferNow(id, to, peer);
    } finally {
      this.inFlight.delete(id);
    }
  }

  private async transferNow(id: string, to: string, peer: Peer): Promise<MovedEnvoy> {
    const body = this.handoverBody(id);
    let r;
    try {
      r = await this.o.bolt.callPeer<AcceptAnswer & { message?: string }>(peer, 'POST', PEER_ACCEPT_PATH, body, 30_000);
    } catch (e) {
      refuse('E_MOVE', `bolt ${to} did not answer the hand-over of ${body.envoy.hostname}: ${e instanceof Error ? e.message : String(e)}`, 'the move is kept and retried every few seconds until that bolt answers');
    }
    if (r.status >= 400 && r.status < 500) refuse('E_MOVE_REFUSED', `bolt ${to} refused ${body.envoy.hostname}: ${r.body?.message ?? `HTTP ${r.status}`}`);
    if (r.status !== 200) refuse('E_MOVE', `bolt ${to} failed the hand-over of ${body.envoy.hostname}: ${r.body?.message ?? `HTTP ${r.status}`}`, 'the move is kept and retried every few seconds');
    const a = r.body;
    const moved: MovedMsg = { bolt_id: a.bolt_id, grpc_addr: a.grpc_addr, server: a.server, cert: a.cert, ca_bundle: a.ca_bundle };
    const nowS = Math.floor(this.o.now() / 1000);
    this.o.db.transaction(() => {
      this.o.db.prepare('INSERT OR REPLACE INTO envoys_moved (envoy_id, hostname, bolt_id, grpc_addr, server, cert, ca_bundle, moved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(id, body.envoy.hostname, moved.bolt_id, moved.grpc_addr, moved.server, moved.cert, moved.ca_bundle, nowS);
      this.o.db.prepare('DELETE FROM runs WHERE envoy_id = ?').run(id);
      this.o.db.prepare('DELETE FROM envoys WHERE id = ?').run(id);
      this.o.db.prepare('DELETE FROM envoy_moves WHERE envoy_id = ?').run(id);
    })();
    this.moved.set(id, moved);
    this.movingIds.delete(id);
    this.o.index.drop(id);
    this.o.checkin.certs.forget(id);
    this.o.log(`moved envoy ${body.envoy.hostname} (${id}) to bolt ${to} with ${body.runs.length} run(s); it checks in at ${moved.grpc_addr} from now on`);
    this.o.checkin.push([id], `moved to bolt ${to}`);
    return { envoy_id: id, hostname: body.envoy.hostname, to, runs: body.runs.length };
  }

  private abort(id: string, why: string): void {
    this.o.db.prepare('DELETE FROM envoy_moves WHERE envoy_id = ?').run(id);
    this.movingIds.delete(id);
    this.o.log(`move of envoy ${id} dropped (it stays here): ${why}`);
  }

  /** Retry the moves an earlier run left open (a crash, an unreachable target). */
  async resumePending(): Promise<number> {
    if (this.resuming) return 0;
    this.resuming = true;
    let done = 0;
    try {
      for (const m of this.o.db.prepare('SELECT envoy_id, to_bolt FROM envoy_moves').all() as { envoy_id: string; to_bolt: string }[]) {
        if (this.inFlight.has(m.envoy_id)) continue;
        if (!this.o.index.get(m.envoy_id)) {
          this.abort(m.envoy_id, 'no such envoy here');
          continue;
        }
        let peer: Peer;
        try {
          peer = this.o.bolt.livePeer(m.to_bolt, 'bolt').peer;
        } catch (e) {
          this.abort(m.envoy_id, e instanceof Error ? e.message : String(e));
          continue;
        }
        try {
          await this.transfer(m.envoy_id, m.to_bolt, peer);
          done++;
        } catch (e) {
          if (e instanceof VigoError && e.code === 'E_MOVE_REFUSED') this.abort(m.envoy_id, e.message);
        }
      }
    } finally {
      this.resuming = false;
    }
    return done;
  }

  startResumer(): void {
    void this.resumePending();
    this.resumer = setInterval(() => {
      if (this.movingIds.size > 0) void this.resumePending();
    }, MOVE_RESUME_EVERY_MS);
    this.resumer.unref();
  }

  stop(): void {
    if (this.resumer) clearInterval(this.resumer);
  }

  // --- the target's side -------------------------------------------------------------------

  /** An envoy handed over by `from` (a live peer, checked by the caller). */
  async accept(h: EnvoyHandover): Promise<AcceptAnswer> {
    this.mustBeUsable();
    const e = h?.envoy;
    const str = (v: unknown, what: string) => (typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : refuse('E_JOIN_MALFORMED', `hand-over: ${what} must be a string`));
    const num = (v: unknown, what: string) => (v === null || (typeof v === 'number' && Number.isFinite(v)) ? v : refuse('E_JOIN_MALFORMED', `hand-over: ${what} must be a number or null`));
    if (typeof e !== 'object' || e === null || !Array.isArray(h.runs)) refuse('E_JOIN_MALFORMED', 'hand-over: {from_bolt, envoy, runs} expected');
    const id = str(e.id, 'envoy.id');
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) refuse('E_JOIN_MALFORMED', 'hand-over: envoy.id is not an envoy id');
    const here = this.o.index.get(id);
    if (here && here.pubkeySha256 !== e.pubkey_sha256) refuse('E_ENVOY_KEY', `envoy ${id} is enrolled here already with another key`);
    const nowMs = this.o.now();
    const signed = await signEnvoyKey(this.o.ca, str(e.pubkey_pem, 'envoy.pubkey_pem'), id, new Date(nowMs), this.o.config.pki.envoy_cert_lifetime_s);
    if (signed.publicKeySha256 !== e.pubkey_sha256) refuse('E_ENVOY_KEY', `hand-over of ${id}: the key does not match its pubkey_sha256`);
    const insertRun = this.o.db.prepare(`INSERT OR IGNORE INTO runs (envoy_id, ${RUN_COLUMNS.join(', ')}) VALUES (?, ${RUN_COLUMNS.map(() => '?').join(', ')})`);
    let stored = 0;
    this.o.db.transaction(() => {
      this.o.db
        .prepare(
          `INSERT INTO envoys (id, hostname, pubkey_sha256, cert_serial, enrolled_at, last_seen, ip, policy_version, fingerprint, last_run_status, last_run_at, change_streak)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET cert_serial = excluded.cert_serial, revoked = 0`,
        )
        .run(id, str(e.hostname, 'envoy.hostname'), e.pubkey_sha256, signed.serial, num(e.enrolled_at, 'enrolled_at'), num(e.last_seen, 'last_seen'), e.ip ?? null, num(e.policy_version, 'policy_version'), e.fingerprint ?? null, e.last_run_status ?? null, num(e.last_run_at, 'last_run_at'), num(e.change_streak, 'change_streak') ?? 0);
      for (const r of h.runs) {
        if (typeof r !== 'object' || r === null) continue;
        stored += insertRun.run(id, ...RUN_COLUMNS.map((c) => (r[c] === undefined ? null : r[c]) as string | number | null)).changes;
      }
      this.o.db.prepare('DELETE FROM envoys_moved WHERE envoy_id = ?').run(id); // it came back
    })();
    this.moved.delete(id);
    this.o.index.load(id);
    this.o.checkin.certs.record(id, certValidity(signed.cert));
    this.o.checkin.certs.recordKey(id, signed.cert);
    this.o.log(`took over envoy ${e.hostname} (${id}) from bolt ${String(h.from_bolt)} with ${stored} new run(s)`);
    return { ...this.addresses(), bolt_id: this.o.bolt.boltId, cert: signed.cert, ca_bundle: this.trust().bundle, runs_stored: stored };
  }
}
