/**
 * One bolt: its identity, its roster (SQLite under the data dir, driven by RosterGossip)
 * and the verbs the REST API serves — status, init, bolt list, bolt invite, bolt join,
 * and the two bolt-to-bolt endpoints (admit, gossip). Each verb returns data; the REST
 * plugin (server/rest/spanner.ts) and vigocli only carry it. Refusals are VigoErrors whose
 * code the REST layer maps to an HTTP status (SPANNER_STATUS).
 */
import { join } from 'node:path';
import type { Clock, Rng } from '../platform/clock.js';
import { VigoError } from '../platform/errors.js';
import { toHex, type Hex } from '../trust/index.js';
import { fetchServerCa, apiRaw, type ApiResponse } from '../wire/rest-client.js';
import { ADMIT_KIND, signAdmit, signInviteConsumed, type AdmitRow, type RosterContext, type RosterRow, signRevoke, type RevokeRow } from '../wire/spanner-roster.js';
import { checkPeerRequest, peerCall, peerError, ADMIT_PATH, PEER_TIMEOUT_MS, STATS_PATH, STATS_TIMEOUT_MS, type Peer, type PeerCheck } from './client.js';
import type { SpannerConfig } from './config.js';
import { NonceCache, checkForward, forwardCall, type ForwardCheck, type ForwardedAdmin } from './forward.js';
import { RosterGossip } from './gossip.js';
import { loadOrCreateBoltIdentity, type BoltIdentity, type KeyWrap } from './identity.js';
import { emptyRoster, isInviteConsumed, liveBolts, mergeRows, rosterBolts, rosterSnapshot } from './roster.js';
import { GossipRuntime } from './runtime.js';
import { routeHostname, trustBundle, type HostMatcher } from './routing.js';
import type { BoltEntry } from './roster.js';
import { checkJoinRequest, mintInvite, parseBundle, signJoinRequest, tokenHash, type Invite, type Joiner, type JoinRequest } from './service-invite.js';
import { openSqliteRosterStore, type RosterStore } from './store.js';

/** HTTP status of each refusal a verb can give (anything else is a 500). */
export const SPANNER_STATUS: Record<string, number> = {
  E_SPANNER_STANDALONE: 409,
  E_SPANNER_NOT_MEMBER: 409,
  E_SPANNER_MEMBER: 409,
  E_SPANNER_CONFIG: 409,
  E_INVITE_MALFORMED: 400,
  E_INVITE_SIGNATURE: 403,
  E_INVITE_EXPIRED: 403,
  E_INVITE_USED: 403,
  E_INVITE_NOT_OURS: 403,
  E_INVITE_WRONG_SPANNER: 403,
  E_JOIN_MALFORMED: 400,
  E_JOIN_PROOF: 403,
  E_JOIN_REFUSED: 409,
  E_CA_MISMATCH: 502,
  E_PEER: 502,
  E_BAD_URL: 400,
  // moving envoys between bolts (server/envoy-move.ts, server/rest/spanner-move.ts)
  E_BOLT_UNKNOWN: 404,
  E_BOLT_REVOKED: 409,
  E_BOLT_SELF: 409,
  E_NOT_FOUNDER: 403,
  E_NOT_THIS_BOLT: 409,
  E_ENVOY_UNKNOWN: 404,
  E_ENVOY_REVOKED: 409,
  E_ENVOY_KEY: 409,
  E_NOT_OWNER: 409,
  E_DRAIN_NOWHERE: 409,
  E_SPANNER_REVOKED: 403,
  E_MOVE: 502,
  E_MOVE_REFUSED: 409,
};

export const DEFAULT_INVITE_TTL_S = 24 * 3600;
export const MAX_INVITE_TTL_S = 30 * 86400;

export interface BoltOptions {
  config: SpannerConfig;
  /** this server's host name (server.hostname, else the OS's), lowercase */
  hostname: string;
  dataDir: string;
  keyFile: string;
  /** the wrap of the bolt key (called only in spanner mode) */
  wrap: () => KeyWrap;
  /** the CA that signs this server's certificate and its envoys' */
  caPem: string;
  caSha256: Hex;
  clock: Clock;
  rng: Rng;
  log: (m: string) => void;
  /** this bolt's own figures for `spanner status` */
  localStats: () => LocalStats;
}

export interface BoltView {
  bolt_id: string;
  pubkey: Hex;
  hostname: string;
  peer_addr: string;
  patterns: string[];
  admitted_at: string;
  /** the admitting bolt's id (or its pubkey when it is not in the roster) */
  admitted_by: string;
  status: 'live' | 'revoked' | 'not-yet';
  self: boolean;
}

export interface SpannerStatus {
  mode: SpannerConfig['mode'];
  spanner_id?: string;
  bolt_id?: string;
  pubkey?: Hex;
  member?: boolean;
  roster?: { rows: number; digest: Hex; live: number; revoked: number };
  bolts?: (BoltView & BoltHealth)[];
}

/** A bolt's figures as `spanner status` shows them: its own, or asked of the peer (a signed call). */
/** A bolt's stacks watcher (docs/spanner.md "Stacks watcher"): the head `.live` serves, and the newest refused head. */
export interface BoltStacks {
  project_id: string | null;
  commit: string | null;
  head: string | null;
  error: { commit: string; problem: string } | null;
  /** why this bolt's pushes into the stacks repo are not handed to replication yet (absent: a bolt that predates it) */
  replicate_error?: string | null;
}

export interface BoltHealth {
  /** seconds since its last gossip message reached us (0 for this bolt) */
  last_heard_s: number | null;
  envoys: number | null;
  compliance_pct: number | null;
  /** round trip of the stats call, ms (null for this bolt, or when it did not answer) */
  latency_ms: number | null;
  health: 'ok' | 'unreachable' | 'revoked';
  error: string | null;
  /** the bolt's config version (null: not known) */
  config_version: number | null;
  /** its stacks watcher (null: not known, or no watcher) */
  stacks: BoltStacks | null;
}

export interface LocalStats {
  envoys: number;
  compliance_pct: number | null;
  config_version: number;
  stacks: BoltStacks | null;
}

function refuse(code: string, message: string, hint?: string): never {
  throw new VigoError(code, message, hint ? { hint } : {});
}

export function rosterDbPath(dataDir: string): string {
  return join(dataDir, 'spanner', 'roster.db');
}

/** The founder's key: the one self-admit a held roster has (the merge refuses any other). */
function founderOf(rows: readonly RosterRow[]): Hex | null {
  for (const r of rows) if (r.kind === ADMIT_KIND && r.admitted_by === r.pubkey) return r.pubkey;
  return null;
}

export class Bolt {
  readonly identity: BoltIdentity;
  private readonly store: RosterStore;
  private gossipState: RosterGossip | null = null;
  private readonly runtime: GossipRuntime;
  /** nonces of the forwarded calls this bolt accepted (replays are refused) */
  private readonly nonces = new NonceCache();
  /** one roster-changing verb at a time (each awaits a signature between check and merge) */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly o: BoltOptions, identity: BoltIdentity) {
    this.identity = identity;
    this.store = openSqliteRosterStore(rosterDbPath(o.dataDir));
    // a removed bolt stops gossiping: every live bolt would refuse it (401), and it has nothing to learn
    this.runtime = new GossipRuntime({ gossip: () => (this.removed ? null : this.gossipState), signer: identity.signer, spannerId: o.config.spanner_id ?? '', clock: o.clock, log: o.log, peer: (k) => this.peer(k) });
    const rows = this.store.rows();
    const founder = founderOf(rows);
    if (founder !== null) this.gossipState = this.makeGossip(founder);
    this.runtime.start();
  }

  /** Opens the bolt of a server in hub or spoke mode (null when standalone). */
  static open(o: BoltOptions): Bolt | null {
    if (o.config.mode === 'standalone') return null;
    const id = loadOrCreateBoltIdentity(o.keyFile, o.wrap());
    if (id.created) o.log(`created spanner bolt identity ${id.pubkey} in ${id.file}`);
    return new Bolt(o, id);
  }

  close(): void {
    this.runtime.stop();
    this.store.close();
  }

  get gossip(): RosterGossip | null {
    return this.gossipState;
  }

  private get spannerId(): string {
    return this.o.config.spanner_id!;
  }

  private nowS(): number {
    return Math.floor(this.o.clock.now() / 1000);
  }

  private makeGossip(founder: Hex): RosterGossip {
    return new RosterGossip({ self: this.identity.pubkey, ctx: this.ctx(founder), clock: this.o.clock, rng: this.o.rng, store: this.store, fanout: this.o.config.gossip_fanout, roundMs: this.o.config.gossip_interval_s * 1000 });
  }

  private ctx(founder: Hex): RosterContext {
    return { spannerId: this.spannerId, founder };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private member(): RosterGossip {
    if (this.gossipState === null) refuse('E_SPANNER_NOT_MEMBER', `this bolt (${this.o.config.bolt_id}) holds no roster yet`, 'found the spanner here with `vigocli spanner init`, or join one with `vigocli spanner bolt join --from URL --code BUNDLE`');
    return this.gossipState;
  }

  private peer(key: Hex): Peer | null {
    const b = this.gossipState?.roster.bolts.get(key);
    return b ? { pubkey: key, addr: b.admit.peer_addr, ca: b.admit.envoy_ca_pem } : null;
  }

  /** The fields of this bolt's admit row, from server.yaml; refuses naming the setting that is missing. */
  private selfFields(): Joiner {
    const c = this.o.config;
    if (!c.advertise) refuse('E_SPANNER_CONFIG', 'spanner.advertise is not set in server.yaml', 'set spanner.advertise to the HOST:PORT of this server\'s REST API as other bolts reach it, and restart vigosrv');
    if (c.patterns.length === 0) refuse('E_SPANNER_CONFIG', 'spanner.patterns is empty in server.yaml', 'list the hostname patterns of the envoys this bolt owns (e.g. ["web-*"]) and restart vigosrv');
    return { bolt_id: c.bolt_id!, pubkey: this.identity.pubkey, hostname: this.o.hostname, peer_addr: c.advertise, patterns: [...c.patterns], envoy_ca_pem: `${this.o.caPem.replace(/\r\n/g, '\n').trim()}\n` };
  }

  // --- verbs ------------------------------------------------------------------------------

  list(): BoltView[] {
    const g = this.member();
    const bolts = g.roster.bolts;
    return rosterBolts(g.roster, this.nowS()).map((b) => ({
      bolt_id: b.bolt_id,
      pubkey: b.pubkey,
      hostname: b.admit.hostname,
      peer_addr: b.admit.peer_addr,
      patterns: [...b.admit.patterns],
      admitted_at: new Date(b.admit.admitted_at * 1000).toISOString(),
      admitted_by: bolts.get(b.admit.admitted_by)?.bolt_id ?? b.admit.admitted_by,
      status: b.status,
      self: b.pubkey === this.identity.pubkey,
    }));
  }

  /** `spanner status`: the roster's counts and every bolt's figures (peers asked in parallel, STATS_TIMEOUT_MS each). */
  async status(): Promise<SpannerStatus> {
    const c = this.o.config;
    const base = { mode: c.mode, spanner_id: this.spannerId, bolt_id: c.bolt_id!, pubkey: this.identity.pubkey };
    const g = this.gossipState;
    if (g === null) return { ...base, member: false };
    const now = this.o.clock.now();
    const heard = g.lastHeard();
    const bolts = await Promise.all(
      this.list().map(async (b): Promise<BoltView & BoltHealth> => {
        const h = heard.get(b.pubkey);
        const lastHeard = b.self ? 0 : h === undefined ? null : Math.round((now - h) / 1000);
        const none = { envoys: null, compliance_pct: null, latency_ms: null, config_version: null, stacks: null };
        if (b.status !== 'live') return { ...b, ...none, last_heard_s: lastHeard, health: 'revoked', error: null };
        if (b.self) return { ...b, ...this.o.localStats(), latency_ms: null, last_heard_s: 0, health: 'ok', error: null };
        const t0 = performance.now();
        try {
          const r = await peerCall<LocalStats>(this.identity.signer, this.spannerId, this.peer(b.pubkey)!, 'GET', STATS_PATH, undefined, this.nowS(), STATS_TIMEOUT_MS);
          if (r.status !== 200) throw peerError(b.bolt_id, r);
          // a bolt of an older build answers without the last two: unknown, not zero
          return { ...b, envoys: r.body.envoys, compliance_pct: r.body.compliance_pct, config_version: r.body.config_version ?? null, stacks: r.body.stacks ?? null, latency_ms: Math.round(performance.now() - t0), last_heard_s: lastHeard, health: 'ok', error: null };
        } catch (e) {
          return { ...b, ...none, last_heard_s: lastHeard, health: 'unreachable', error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    return { ...base, member: true, roster: { rows: g.roster.held.size, digest: g.roster.digest, live: liveBolts(g.roster, this.nowS()).length, revoked: g.roster.revoked.size }, bolts };
  }

  /** This bolt's own figures, for a peer's `spanner status` (a signed bolt request). */
  stats(): LocalStats {
    return this.o.localStats();
  }

  /** `spanner init`: the founder's self-admit row. Refused when any row is held already. */
  init(): Promise<BoltView> {
    return this.serial(async () => {
      if (this.gossipState !== null || this.store.rows().length > 0) refuse('E_SPANNER_MEMBER', `this bolt already holds a roster (spanner ${this.spannerId})`, 'see `vigocli spanner bolt list`; a spanner is founded once');
      // the founder is the hub: its key is the root of trust and the only one that revokes
      if (this.o.config.mode !== 'hub') refuse('E_SPANNER_CONFIG', `spanner init founds the spanner on its hub; this server is a ${this.o.config.mode}`, 'run init on the hub (spanner.mode: hub); a spoke joins with `vigocli spanner bolt join`');
      const row = await signAdmit(this.identity.signer, { ...this.selfFields(), spanner_id: this.spannerId, admitted_at: this.nowS() });
      const g = this.makeGossip(this.identity.pubkey);
      const out = g.addRows([row]);
      if (out.accepted.length !== 1) refuse('E_JOIN_REFUSED', `the founder row was refused: ${out.refused.map((r) => `${r.code} ${r.message}`).join('; ')}`);
      this.gossipState = g;
      this.o.log(`founded spanner ${this.spannerId} as bolt ${row.bolt_id} (${this.identity.pubkey})`);
      this.runtime.dispatch(out);
      return this.list().find((b) => b.self)!;
    });
  }

  /** `spanner bolt invite`: a signed single-use bundle. */
  async invite(ttlS: number): Promise<{ bundle: string; expires_at: string; spanner_id: string; peer_addr: string }> {
    this.member();
    if (!Number.isSafeInteger(ttlS) || ttlS < 1 || ttlS > MAX_INVITE_TTL_S) refuse('E_INVITE_MALFORMED', `ttl ${ttlS} s: must be 1 s to ${MAX_INVITE_TTL_S / 86400} days`);
    if (!this.isLive(this.identity.pubkey)) refuse('E_SPANNER_NOT_MEMBER', 'this bolt is not live in its own roster (revoked?) and may not invite');
    const { peer_addr } = this.selfFields();
    const expires = this.nowS() + ttlS;
    const { bundle } = await mintInvite(this.identity.signer, { spanner_id: this.spannerId, peer_addr, ca_sha256: this.o.caSha256, token: toHex(this.o.rng.bytes(32)), expires_at: expires });
    this.o.log(`minted a spanner invite (expires ${new Date(expires * 1000).toISOString()})`);
    return { bundle, expires_at: new Date(expires * 1000).toISOString(), spanner_id: this.spannerId, peer_addr };
  }

  private isLive(key: Hex): boolean {
    const g = this.gossipState;
    return g !== null && liveBolts(g.roster, this.nowS()).some((b) => b.pubkey === key);
  }

  /** Inviter side of a join (bolt-to-bolt, authenticated by the invite token and the joiner's proof). */
  admit(req: JoinRequest): Promise<{ admit: AdmitRow; rows: RosterRow[] }> {
    return this.serial(async () => {
      const g = this.member();
      const invite = parseBundle(typeof req?.bundle === 'string' ? req.bundle : '');
      if (invite.inviter !== this.identity.pubkey) refuse('E_INVITE_NOT_OURS', 'the invite was not minted by this bolt', 'send the join to the bolt that minted the bundle (its URL is the --from of `bolt join`)');
      if (invite.spanner_id !== this.spannerId) refuse('E_INVITE_WRONG_SPANNER', `the invite is for spanner ${invite.spanner_id}, this bolt is in ${this.spannerId}`);
      const now = this.nowS();
      if (invite.expires_at <= now) refuse('E_INVITE_EXPIRED', `the invite expired at ${new Date(invite.expires_at * 1000).toISOString()}`);
      const th = tokenHash(invite);
      if (isInviteConsumed(g.roster, th)) {
        // the joiner crashed before it stored our answer and runs the same join again
        const again = this.readmission(g, req, invite);
        if (again === null) refuse('E_INVITE_USED', 'the invite was already used (invites are single-use)');
        return again;
      }
      if (!this.isLive(this.identity.pubkey)) refuse('E_SPANNER_NOT_MEMBER', 'this bolt is not live in its roster and may not admit');
      const joiner = checkJoinRequest(req, invite, this.spannerId);
      const member = this.readmission(g, req, invite);
      if (member !== null) {
        // admitted already (a lost answer, joined again with a fresh invite): spend the token, answer again
        this.runtime.dispatch(g.addRows([await signInviteConsumed(this.identity.signer, { spanner_id: this.spannerId, token_hash: th, consumed_at: now })]));
        return member;
      }
      const admit = await signAdmit(this.identity.signer, { ...joiner, spanner_id: this.spannerId, admitted_at: now });
      const consumed = await signInviteConsumed(this.identity.signer, { spanner_id: this.spannerId, token_hash: th, consumed_at: now });
      // the check first (pure): a refused admission (a pinned key, a revoked key) consumes nothing
      const trial = mergeRows(g.roster, [admit, consumed], this.ctx(g.roster.root!.pubkey));
      if (!trial.state.bolts.has(joiner.pubkey) || trial.refused.length > 0) refuse('E_JOIN_REFUSED', `the roster refuses the admission: ${trial.refused.map((r) => `${r.code} ${r.message}`).join('; ') || 'not admitted'}`);
      const out = g.addRows([admit, consumed]);
      this.o.log(`admitted bolt ${joiner.bolt_id} (${joiner.pubkey}) at ${joiner.peer_addr}`);
      this.runtime.dispatch(out);
      return { admit, rows: rosterSnapshot(g.roster) };
    });
  }

  /**
   * A join from a bolt already admitted under the same key and bolt id (it proves the key):
   * its admission and the roster again, or null. The key is pinned, so a second admit row
   * would be refused (E_KEY_PINNED); a member gets nothing from this it could not pull.
   */
  private readmission(g: RosterGossip, req: JoinRequest, invite: Invite): { admit: AdmitRow; rows: RosterRow[] } | null {
    let joiner: Joiner;
    try {
      joiner = checkJoinRequest(req, invite, this.spannerId);
    } catch {
      return null;
    }
    const b = g.roster.bolts.get(joiner.pubkey);
    if (b === undefined || b.bolt_id !== joiner.bolt_id || !this.isLive(joiner.pubkey)) return null;
    this.o.log(`bolt ${joiner.bolt_id} (${joiner.pubkey}) joined again: it is admitted already; answering with the roster`);
    return { admit: b.admit, rows: rosterSnapshot(g.roster) };
  }

  /** `spanner bolt join`: the joiner side; asks the inviter at `from` to admit this bolt. */
  join(from: string, code: string): Promise<{ admitted: BoltView; bolts: number }> {
    return this.serial(async () => {
      if (this.gossipState !== null || this.store.rows().length > 0) refuse('E_SPANNER_MEMBER', `this bolt already holds a roster (spanner ${this.spannerId})`, 'a bolt joins once; see `vigocli spanner bolt list`');
      if (this.o.config.mode !== 'spoke') refuse('E_SPANNER_CONFIG', `a ${this.o.config.mode} does not join: the hub founds the spanner (spanner init), spokes join it`, 'set spanner.mode: spoke (and spanner.hub_addr) on the joining server');
      const invite = parseBundle(code);
      if (invite.spanner_id !== this.spannerId) refuse('E_INVITE_WRONG_SPANNER', `the invite is for spanner ${invite.spanner_id}, this bolt's spanner.spanner_id is ${this.spannerId}`);
      if (invite.expires_at <= this.nowS()) refuse('E_INVITE_EXPIRED', `the invite expired at ${new Date(invite.expires_at * 1000).toISOString()}`);
      const fields = this.selfFields();
      let ca: { pem: string; fingerprint: string };
      try {
        ca = await fetchServerCa(from, PEER_TIMEOUT_MS);
      } catch (e) {
        return refuse('E_PEER', `cannot reach ${from}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (ca.fingerprint !== invite.ca_sha256) refuse('E_CA_MISMATCH', `${from} presents CA sha256 ${ca.fingerprint}; the invite names ${invite.ca_sha256}`, 'the URL is not the inviting bolt\'s (or someone is in between); check --from');
      const req = await signJoinRequest(this.identity.signer, code.trim(), invite, fields);
      let r;
      try {
        r = await apiRaw<{ admit: AdmitRow; rows: RosterRow[]; message?: string }>({ server: from, ca: ca.pem }, 'POST', ADMIT_PATH, req, PEER_TIMEOUT_MS);
      } catch (e) {
        return refuse('E_PEER', `cannot reach ${from}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (r.status < 200 || r.status >= 300) throw peerError(`${from} refused the join`, r);
      const rows = Array.isArray(r.body?.rows) ? r.body.rows : [];
      const founder = founderOf(rows.filter((x): x is RosterRow => typeof x === 'object' && x !== null));
      if (founder === null) refuse('E_PEER', `${from} answered without the founder's row`);
      const trial = mergeRows(emptyRoster(), rows, this.ctx(founder));
      if (!liveBolts(trial.state, this.nowS() + 300).some((b) => b.pubkey === this.identity.pubkey) || !trial.state.bolts.has(invite.inviter)) {
        refuse('E_PEER', `${from} answered with a roster that does not admit this bolt (${trial.refused.map((x) => x.code).join(', ') || 'no admit row'})`);
      }
      const g = this.makeGossip(founder);
      const out = g.addRows(rows);
      this.gossipState = g;
      this.o.log(`joined spanner ${this.spannerId} through ${from}: ${g.roster.bolts.size} bolts`);
      this.runtime.dispatch(out);
      return { admitted: this.list().find((b) => b.self)!, bolts: g.roster.bolts.size };
    });
  }

  // --- routing, trust and moves (server/envoy-move.ts drives these) -------------------------

  /** The live roster bolts in bolt-id order ([] before a roster is held). */
  liveRoster(): BoltEntry[] {
    const g = this.gossipState;
    return g === null ? [] : liveBolts(g.roster, this.nowS());
  }

  /** True once this bolt's own admission is revoked: it admits nothing and is routed nothing. */
  get removed(): boolean {
    const g = this.gossipState;
    return g !== null && g.roster.bolts.has(this.identity.pubkey) && !this.isLive(this.identity.pubkey);
  }

  /** True on the founder (the hub): the only bolt whose revocations the roster takes. */
  get founder(): boolean {
    return founderOf(this.store.rows()) === this.identity.pubkey;
  }

  get boltId(): string {
    return this.o.config.bolt_id!;
  }

  /** The CA bundle envoys and the check-in listener trust: this bolt's CA and every live bolt's. */
  trustBundle(): string {
    return trustBundle(this.o.caPem, this.liveRoster());
  }

  /** The owner of a hostname by pattern: a live bolt, or null (no pattern matches, or no roster). */
  route(hostname: string, matches: HostMatcher, exclude: readonly Hex[] = []): BoltEntry | null {
    return routeHostname(this.liveRoster(), hostname, matches, exclude);
  }

  /** A live bolt by id, as a peer to call; refuses an unknown or revoked id, or this bolt itself. */
  livePeer(boltId: string, what: string): { entry: BoltEntry; peer: Peer } {
    const g = this.member();
    const entry = [...g.roster.bolts.values()].find((b) => b.bolt_id === boltId);
    if (!entry) refuse('E_BOLT_UNKNOWN', `${what} ${boltId} is not a bolt of spanner ${this.spannerId}`, 'see `vigocli spanner bolt list`');
    if (!this.isLive(entry.pubkey)) refuse('E_BOLT_REVOKED', `${what} ${boltId} is revoked (removed from the spanner)`, 'pick a live bolt from `vigocli spanner bolt list`');
    if (entry.pubkey === this.identity.pubkey) refuse('E_BOLT_SELF', `${what} ${boltId} is this bolt`);
    return { entry, peer: this.peer(entry.pubkey)! };
  }

  /** A signed bolt-to-bolt call. */
  callPeer<T>(peer: Peer, method: string, path: string, body: unknown, timeoutMs = PEER_TIMEOUT_MS) {
    return peerCall<T>(this.identity.signer, this.spannerId, peer, method, path, body, this.nowS(), timeoutMs);
  }

  /**
   * `bolt remove`'s last step, on the hub: the founder signs the revocation of `boltId`,
   * merges it and gossips it. Returns the row (the caller also hands it to the removed
   * bolt directly: gossip goes to live bolts only, and it is no longer one).
   */
  revoke(boltId: string, reason: string): Promise<RevokeRow> {
    return this.serial(async () => {
      const g = this.member();
      if (founderOf(this.store.rows()) !== this.identity.pubkey) refuse('E_NOT_FOUNDER', `only the hub (the founder) revokes; this bolt (${this.boltId}) is not it`, 'run `vigocli spanner bolt remove` against the hub');
      const { entry } = this.livePeer(boltId, 'bolt');
      const row = await signRevoke(this.identity.signer, { spanner_id: this.spannerId, pubkey: entry.pubkey, revoked_at: this.nowS(), reason });
      const out = g.addRows([row]);
      if (out.accepted.length !== 1) refuse('E_JOIN_REFUSED', `the revocation was refused: ${out.refused.map((r) => `${r.code} ${r.message}`).join('; ')}`);
      this.o.log(`revoked bolt ${boltId} (${entry.pubkey}): ${reason}`);
      this.runtime.dispatch(out);
      return row;
    });
  }

  /** Rows a live peer hands over directly (the hub telling a removed bolt of its revocation). */
  acceptRows(rows: readonly unknown[]): number {
    const out = this.member().addRows(rows);
    this.runtime.dispatch(out);
    return out.accepted.length;
  }

  /** Checks a bolt-to-bolt request's signature headers against this roster. */
  checkPeer(headers: Record<string, string | string[] | undefined>, method: string, path: string, body: unknown): PeerCheck {
    if (this.gossipState === null) return { ok: false, message: 'this bolt holds no roster yet' };
    return checkPeerRequest(headers, { spannerId: this.spannerId, self: this.identity.pubkey, method, path, body, nowS: this.nowS(), isLive: (k) => this.isLive(k) });
  }

  // --- forwarding (spanner/forward.ts) ------------------------------------------------------

  /** Where a per-bolt request for bolt `id` goes: here, to a live peer, or nowhere (and why). */
  routeTo(id: string): { kind: 'self' } | { kind: 'live'; peer: Peer } | { kind: 'revoked' | 'not-yet' | 'unknown' } {
    const b = this.list().find((x) => x.bolt_id === id);
    if (b === undefined) return { kind: 'unknown' };
    if (b.self) return { kind: 'self' };
    if (b.status !== 'live') return { kind: b.status };
    return { kind: 'live', peer: this.peer(b.pubkey)! };
  }

  /** Every live bolt of the roster, this one included, for the merged views. */
  liveRoutes(): { bolt_id: string; self: boolean; peer: Peer }[] {
    return this.list()
      .filter((b) => b.status === 'live')
      .map((b) => ({ bolt_id: b.bolt_id, self: b.self, peer: this.peer(b.pubkey)! }));
  }

  /** Checks a forwarded call received here; names the sending bolt when it passes. */
  checkForwarded(headers: Record<string, string | string[] | undefined>, method: string, path: string, body: unknown): ForwardCheck & { fromBolt?: string } {
    if (this.gossipState === null) return { ok: false, code: 'E_FORWARD_NOT_LIVE', message: 'forwarded call: this bolt holds no roster yet' };
    const c = checkForward(headers, { spannerId: this.spannerId, self: this.identity.pubkey, method, path, body, nowS: this.nowS(), isLive: (k) => this.isLive(k), nonces: this.nonces });
    return c.ok ? { ...c, fromBolt: this.gossipState.roster.bolts.get(c.from)?.bolt_id ?? c.from } : c;
  }

  /** One forwarded call to a live peer, as the admin this bolt authenticated. */
  forward<T>(peer: Peer, method: string, path: string, body: unknown, admin: ForwardedAdmin, timeoutMs?: number): Promise<ApiResponse<T>> {
    return forwardCall<T>(this.identity.signer, { spannerId: this.spannerId, peer, method, path, body, admin, nowS: this.nowS(), nonce: toHex(this.o.rng.bytes(16)), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /** A gossip message from an authenticated live peer. */
  onGossip(from: Hex, body: unknown, bytes: number): void {
    const g = this.member();
    this.runtime.dispatch(g.onMessage(from, body, bytes));
  }
}
