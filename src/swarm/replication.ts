/**
 * The replication state machine of one envoy (sans-I/O, SYSTEM.md §8): gitback fan-out,
 * the DR catch-up and ref anti-entropy as one pure object. Inputs: a local push (with its
 * signed manifest), bundles received from peers, the answers to what it asked for, and
 * tick(now). Outputs: bundles to send, fetches to start, and the next wake-up. The agent
 * runs it over the swarm transport and git; test/swarm/sim.test.ts runs the same code for
 * fifty envoys in one process. Time (ms) arrives with every input; randomness, the peer
 * table, the store and the manifest verifier are passed in.
 *
 * Receiver rules (docs/gitback.md "Replication (protocol)"): an update is verified (chain,
 * leaf, signature, bundle hash), then judged ref by ref against what this envoy holds —
 * compare-and-swap on the old tip, fast-forward when this envoy is behind, adopt a ref it
 * has never had — and refused when replayed, rolled back or diverged. No ref ever moves to
 * an ancestor of its tip, and no manifest applies twice.
 */
import type { Rng } from '../platform/clock.js';
import type { Hex } from '../trust/index.js';
import { manifestId as idOf, type ManifestRefusalCode, type ManifestVerdict, type RefUpdate } from '../wire/gitback-manifest.js';
import type { Peer, PeerKey, ProjectPeers } from './peers.js';
import { streamOf, tipsOf, type ProjectMeta, type ReplicaStore, type SignedUpdate, type Tips } from './store.js';

export const REPLICATION_REFUSAL_CODES = [
  /** members-only project, and no local user of this envoy holds it */
  'E_NOT_MEMBER',
  /** this manifest was already applied here */
  'E_MANIFEST_REPLAY',
  /** older than what this envoy holds: a lower seq of the same stream, or a tip behind the current one */
  'E_MANIFEST_ROLLBACK',
  /** the ref moved elsewhere here: its tip is neither the old tip nor on the new tip's history */
  'E_REF_DIVERGED',
] as const;
export type ReplicationRefusalCode = (typeof REPLICATION_REFUSAL_CODES)[number];
export type RefusalCode = ReplicationRefusalCode | ManifestRefusalCode;

/** Verifies one update for a project as the transport received it (verifyManifest with this envoy's revocations). */
export interface UpdateVerifier {
  verify(projectId: Hex, update: SignedUpdate, bundleSha256: Hex | null, nowMs: number): ManifestVerdict;
}

export interface ReplicationConfig {
  /** the catch-up reactor's period: DR for one repo and anti-entropy with a few peers (page: ~45 s) */
  tickMs: number;
  /** peers asked per project per anti-entropy round */
  antiEntropyPeers: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** an answer not reported by then counts as a failure */
  requestTimeoutMs: number;
}

export const DEFAULT_REPLICATION_CONFIG: ReplicationConfig = {
  tickMs: 45_000,
  antiEntropyPeers: 2,
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
  requestTimeoutMs: 120_000,
};

/**
 * Send `updates` to `peer` with a bundle. `exact`: the peer holds every old tip of the one
 * update, so the push's own bundle goes (its sha256 is signed); otherwise the bundle is
 * built from `base` (the tips the peer is known to hold; null: unknown, a full bundle).
 */
export interface SendBundle {
  type: 'send';
  requestId: number;
  peer: PeerKey;
  projectId: Hex;
  updates: SignedUpdate[];
  base: Tips | null;
  tips: Tips;
  exact: boolean;
}

/** Ask `peer` for the updates of the refs where it differs from `have`, with a bundle built from `have`. */
export interface FetchBundle {
  type: 'fetch';
  requestId: number;
  peer: PeerKey;
  projectId: Hex;
  reason: 'dr' | 'anti-entropy';
  have: Tips;
}

export type ReplicationOutput = SendBundle | FetchBundle;

export interface Step {
  outputs: ReplicationOutput[];
  /** call tick() again no later than this (ms); null: nothing pending */
  wakeAt: number | null;
}

export interface RefRefusal {
  ref: string;
  code: RefusalCode;
  message: string;
}

/** What a receiver answers (the transport's `{accepted, refs_changed}` plus why not). */
export interface ReceiveResult {
  accepted: boolean;
  refsChanged: string[];
  code?: RefusalCode;
  message?: string;
  /** in sync mode, refs skipped with why (stale, diverged, already held) */
  skipped: RefRefusal[];
  /** the receiver's tips after the call: the sender learns what it holds */
  tips: Tips;
}

/** A peer's answer to a fetch: the updates for the refs that differ, and all its tips. */
export interface ServeResult {
  updates: SignedUpdate[];
  tips: Tips;
}

/**
 * The transport's report. `final`: the peer answered a refusal that sending the same bundle
 * again cannot change (E_BODY_TOO_LARGE): it is not sent again to that peer until the tips
 * to send change.
 */
export type Answer<T> = { ok: true; value: T } | { ok: false; error: string; final?: { code: string } };

interface PeerState {
  tips: Tips | null;
  dirty: boolean;
  sending: number | null;
  fetching: number | null;
  failures: number;
  retryAt: number;
  notMember: boolean;
  /** the tips (tipsKey) whose send this peer refused for good, and its code */
  refused: { tips: string; code: string } | null;
}

interface Pending {
  kind: 'send' | 'fetch';
  peer: PeerKey;
  projectId: Hex;
  deadline: number;
  tips: Tips;
}

type RefVerdict = { kind: 'apply' } | { kind: 'have' } | { kind: 'refuse'; code: ReplicationRefusalCode; message: string };

/** Bounds of the members-presented table: (project, envoy) pairs, subjects per pair. */
export const MAX_PRESENTED = 16_384;
export const MAX_PRESENTED_PER_PEER = 64;

export class ReplicationMachine {
  private readonly cfg: ReplicationConfig;
  private readonly peerState = new Map<string, PeerState>(); // `${pid} ${peerKey}`
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private nextRound: number | null = null;
  /** counters an operator reads in the agent's status */
  readonly counters = { sent: 0, fetched: 0, refusedIn: 0, refusedOut: 0, failures: 0, drStarted: 0 };
  /** `${pid} ${envoyId}` → the member subjects that envoy proved it holds (the leaf of a chain it fetched with) */
  private readonly presented = new Map<string, Set<Hex>>();
  /**
   * Whether a local member holds the project now (the agent: some local user's chain of it is
   * held — a user's, or the ops-puddle's service-account puddle for the stacks project). The
   * `member` mark in the store is sticky (it outlives the user who left), so a members-only
   * bundle also needs this to be true: an envoy whose members all left is an outsider again.
   */
  localMember: (pid: Hex) => boolean = () => true;
  /** the subjects who left a project by a verified LEAVE held here (envelope gossip's leftSubjects) */
  leftSubjects: (pid: Hex, nowMs: number) => ReadonlySet<Hex> = () => new Set();

  constructor(
    private readonly store: ReplicaStore,
    private readonly peers: ProjectPeers,
    private readonly verifier: UpdateVerifier,
    private readonly rng: Rng,
    cfg: Partial<ReplicationConfig> = {},
  ) {
    this.cfg = { ...DEFAULT_REPLICATION_CONFIG, ...cfg };
  }

  // --- inputs ------------------------------------------------------------------------

  /**
   * A push landed here and the daemon moved the refs: record the signed update and fan it
   * out to every target of the project's scope.
   */
  localPush(now: number, update: SignedUpdate, meta: Omit<ProjectMeta, 'projectId'> = { scope: update.manifest.scope, member: true }): Step {
    const m = update.manifest;
    const pmeta: ProjectMeta = { projectId: m.project_id, scope: meta.scope, member: meta.member };
    this.store.commit(pmeta, update, idOf(m), m.refs);
    for (const peer of this.targets(pmeta, now)) this.state(m.project_id, peer.key).dirty = true;
    return this.step(now, this.sendDirty(now, m.project_id));
  }

  /**
   * Updates a peer sent (the transport has checked the bundle with checkBundleRefs and holds
   * it in quarantine). `bundleSha256` is the sha256 of that bundle when the sender said it is
   * the push's own (exact); null when rebuilt. An exact single update is judged atomically with the stream's sequence rule
   * (push mode); anything else ref by ref (sync mode).
   */
  receive(now: number, projectId: Hex, updates: readonly SignedUpdate[], bundleSha256: Hex | null): ReceiveResult {
    const mode = bundleSha256 !== null && updates.length === 1 ? 'push' : 'sync';
    const r = this.applyAll(now, projectId, updates, bundleSha256, mode);
    if (!r.accepted) this.counters.refusedIn++;
    return r;
  }

  /** The answer to a peer's fetch: the updates for the refs where we differ from `have`. */
  serve(projectId: Hex, have: Readonly<Tips>): ServeResult {
    const refs = this.store.refs(projectId);
    const heads = new Map<Hex, number>();
    for (const [ref, s] of refs) if ((have[ref] ?? null) !== s.tip) heads.set(s.manifestId, Math.min(heads.get(s.manifestId) ?? Infinity, s.order));
    const updates: SignedUpdate[] = [];
    for (const [id] of [...heads].sort((a, b) => a[1] - b[1])) {
      const u = this.store.update(projectId, id);
      if (u !== undefined) updates.push(u);
    }
    return { updates, tips: tipsOf(refs) };
  }

  /** The transport's report on a send: the receiver's answer, or why there was none. */
  sent(now: number, requestId: number, answer: Answer<ReceiveResult>): Step {
    const p = this.take(requestId, 'send');
    if (p === undefined) return this.step(now, []);
    const st = this.state(p.projectId, p.peer);
    st.sending = null;
    if (!answer.ok) {
      if (answer.final !== undefined) {
        // a refusal more of the same will not fix: give up on this peer for these tips
        this.counters.refusedOut++;
        st.refused = { tips: tipsKey(p.tips), code: answer.final.code };
        st.dirty = false;
        return this.step(now, []);
      }
      this.fail(st, now, 'send');
      return this.step(now, []);
    }
    const r = answer.value;
    st.failures = 0;
    st.refused = null;
    st.tips = r.tips;
    if (!r.accepted) {
      this.counters.refusedOut++;
      if (r.code === 'E_NOT_MEMBER') st.notMember = true;
      // Refused for a reason more bundles will not fix: wait for the next change or round.
      st.dirty = false;
    } else {
      this.counters.sent++;
      // Only a change made here while the bundle was in flight sends again: refs the peer
      // skipped (it is ahead, or diverged) would be skipped again.
      st.dirty = st.dirty && !sameTips(r.tips, tipsOf(this.store.refs(p.projectId)));
    }
    return this.step(now, this.sendDirty(now, p.projectId));
  }

  /** The transport's report on a fetch. */
  fetched(now: number, requestId: number, answer: Answer<ServeResult>): Step & { result?: ReceiveResult } {
    const p = this.take(requestId, 'fetch');
    if (p === undefined) return this.step(now, []);
    const st = this.state(p.projectId, p.peer);
    st.fetching = null;
    if (!answer.ok) {
      this.fail(st, now, 'fetch');
      return this.step(now, []);
    }
    this.counters.fetched++;
    st.failures = 0;
    const result = this.applyAll(now, p.projectId, answer.value.updates, null, 'sync');
    st.tips = answer.value.tips;
    // Anti-entropy runs both ways: what it lacks of ours goes back to it.
    const meta = this.store.project(p.projectId);
    if (meta !== undefined && this.mayHold(meta, p.peer, now) && hasWhatItLacks(this.store.refs(p.projectId), st.tips)) st.dirty = true;
    return { ...this.step(now, this.sendDirty(now, p.projectId)), result };
  }

  /**
   * A peer said which tips it holds (a tips endpoint, a status exchange): remember them for
   * the next bundle's base, pull at once when it holds tips we do not, and send what it
   * lacks of ours. Tips are a hint like an announce: what arrives is verified as always.
   */
  peerTips(now: number, projectId: Hex, peer: PeerKey, tips: Readonly<Tips>): Step {
    const meta = this.store.project(projectId);
    if (meta === undefined) return this.step(now, []);
    const st = this.state(projectId, peer);
    st.tips = { ...tips };
    const refs = this.store.refs(projectId);
    const out: ReplicationOutput[] = [];
    const theyHaveMore = Object.entries(tips).some(([ref, tip]) => refs.get(ref)?.tip !== tip);
    const holder = this.peers.peersOf(projectId, now).find((p) => p.key === peer);
    if (theyHaveMore && holder !== undefined && st.fetching === null && st.retryAt <= now) {
      out.push(this.fetch(now, projectId, holder, refs.size === 0 ? 'dr' : 'anti-entropy', tipsOf(refs)));
    }
    if (this.mayHold(meta, peer, now) && hasWhatItLacks(refs, st.tips)) st.dirty = true;
    out.push(...this.sendDirty(now, projectId));
    return this.step(now, out);
  }

  /** Time passed: retries, timeouts, one anti-entropy / DR round per tickMs. */
  tick(now: number): Step {
    this.peers.expire(now);
    const out: ReplicationOutput[] = [];
    for (const [id, p] of this.pending) {
      if (p.deadline > now) continue;
      this.pending.delete(id);
      const st = this.state(p.projectId, p.peer);
      if (p.kind === 'send') st.sending = null;
      else st.fetching = null;
      this.fail(st, now, p.kind);
    }
    const projects = this.store.projects();
    if (this.nextRound === null || now >= this.nextRound) {
      this.nextRound = now + this.cfg.tickMs;
      this.prune(now);
      out.push(...this.round(now, projects));
    }
    for (const meta of projects) out.push(...this.sendDirty(now, meta.projectId));
    return this.step(now, out);
  }

  /** A peer envoy fetched pid with a verified chain whose leaf is `subject`: one of its members. */
  memberPresented(pid: Hex, envoyId: string, subject: Hex): void {
    const k = `${pid} ${envoyId}`;
    let s = this.presented.get(k);
    if (s === undefined) {
      if (this.presented.size >= MAX_PRESENTED) this.presented.delete(this.presented.keys().next().value as string);
      s = new Set();
      this.presented.set(k, s);
    }
    if (s.size < MAX_PRESENTED_PER_PEER) s.add(subject);
  }

  /**
   * A members-only holder whose every member seen here has left: a leave gossiped here
   * removes the leaver's envoy from fan-out. A holder none of whose members is known is
   * still sent to (it may hold members this envoy never heard of).
   */
  private allLeft(meta: ProjectMeta, p: Peer, now: number): boolean {
    if (meta.scope !== 'members-only' || p.envoyId === null) return false;
    const seen = this.presented.get(`${meta.projectId} ${p.envoyId}`);
    if (seen === undefined || seen.size === 0) return false;
    const left = this.leftSubjects(meta.projectId, now);
    for (const s of seen) if (!left.has(s)) return false;
    return true;
  }

  // --- decisions ---------------------------------------------------------------------

  /** Who gets a project's bundles: holders and cross-subnet members; for swarm-wide also every gitback envoy. */
  targets(meta: ProjectMeta, now: number): Peer[] {
    const out = new Map<PeerKey, Peer>();
    const holders = this.peers.peersOf(meta.projectId, now);
    for (const p of holders) out.set(p.key, p);
    if (meta.scope === 'swarm-wide') for (const p of this.peers.envoys(now)) if (!out.has(p.key)) out.set(p.key, p);
    // A peer that refused as a non-member is skipped until it announces holding the project.
    const announcing = new Set(holders.filter((p) => p.sources.includes('announce')).map((p) => p.key));
    return [...out.values()].filter((p) => (announcing.has(p.key) || !this.state(meta.projectId, p.key).notMember) && !this.allLeft(meta, p, now));
  }

  private mayHold(meta: ProjectMeta, key: PeerKey, now: number): boolean {
    return this.targets(meta, now).some((p) => p.key === key);
  }

  private round(now: number, projects: ProjectMeta[]): ReplicationOutput[] {
    const out: ReplicationOutput[] = [];
    let drDone = false;
    for (const meta of projects) {
      const pid = meta.projectId;
      const refs = this.store.refs(pid);
      const holders = this.peers.peersOf(pid, now).filter((p) => {
        const st = this.state(pid, p.key);
        return st.fetching === null && st.retryAt <= now;
      });
      if (refs.size === 0) {
        // DR catch-up: a member with state but no repo pulls one, one repo per round.
        if (!meta.member || !this.localMember(pid) || drDone || holders.length === 0) continue;
        drDone = true;
        this.counters.drStarted++;
        out.push(this.fetch(now, pid, pick(holders, this.rng), 'dr', {}));
        continue;
      }
      const have = tipsOf(refs);
      for (let i = 0; i < this.cfg.antiEntropyPeers && holders.length > 0; i++) {
        const peer = holders.splice(this.rng.int(holders.length), 1)[0]!;
        out.push(this.fetch(now, pid, peer, 'anti-entropy', have));
      }
      // Swarm-wide repos also go to gitback envoys that do not hold them yet.
      const holding = new Set(this.peers.peersOf(pid, now).map((p) => p.key));
      for (const p of this.targets(meta, now)) {
        const st = this.state(pid, p.key);
        if (!holding.has(p.key) && !sameTips(st.tips ?? {}, have)) st.dirty = true;
      }
    }
    return out;
  }

  private fetch(now: number, projectId: Hex, peer: Peer, reason: FetchBundle['reason'], have: Tips): FetchBundle {
    const requestId = this.nextRequest++;
    this.pending.set(requestId, { kind: 'fetch', peer: peer.key, projectId, deadline: now + this.cfg.requestTimeoutMs, tips: have });
    this.state(projectId, peer.key).fetching = requestId;
    return { type: 'fetch', requestId, peer: peer.key, projectId, reason, have };
  }

  private sendDirty(now: number, projectId: Hex): SendBundle[] {
    const out: SendBundle[] = [];
    const refs = this.store.refs(projectId);
    if (refs.size === 0) return out;
    const tips = tipsOf(refs);
    for (const [k, st] of this.peerState) {
      if (!k.startsWith(`${projectId} `) || !st.dirty || st.sending !== null || st.retryAt > now || st.notMember) continue;
      if (st.refused !== null && st.refused.tips === tipsKey(tips)) {
        st.dirty = false;
        continue;
      }
      const peer = k.slice(projectId.length + 1);
      const { updates } = this.serve(projectId, st.tips ?? {});
      if (updates.length === 0) {
        st.dirty = false;
        continue;
      }
      const only = updates.length === 1 ? updates[0]!.manifest : undefined;
      const exact = only !== undefined && st.tips !== null && isExactBase(only.refs, st.tips);
      const requestId = this.nextRequest++;
      this.pending.set(requestId, { kind: 'send', peer, projectId, deadline: now + this.cfg.requestTimeoutMs, tips });
      st.sending = requestId;
      st.dirty = false;
      out.push({ type: 'send', requestId, peer, projectId, updates, base: st.tips, tips, exact });
    }
    return out;
  }

  private applyAll(now: number, projectId: Hex, updates: readonly SignedUpdate[], bundleSha256: Hex | null, mode: 'push' | 'sync'): ReceiveResult {
    const changed = new Set<string>();
    const skipped: RefRefusal[] = [];
    let first: { code: RefusalCode; message: string } | undefined;
    for (const u of updates) {
      const r = this.applyOne(now, projectId, u, bundleSha256, mode);
      if ('code' in r) {
        first ??= r;
        if (mode === 'sync') skipped.push({ ref: u.manifest.refs[0]?.ref ?? '', code: r.code, message: r.message });
        continue;
      }
      for (const ref of r.changed) changed.add(ref);
      skipped.push(...r.skipped);
    }
    const tips = tipsOf(this.store.refs(projectId));
    // In sync mode a catch-up answer holds heads this envoy already has or is ahead of: the
    // call is refused only for a verification failure, or when it moved nothing and some
    // ref was refused (a relayed rollback or divergence).
    let accepted = first === undefined;
    if (mode === 'sync') {
      const fatal = skipped.find((s) => isFatal(s.code));
      const why = fatal ?? (changed.size === 0 ? skipped.find((s) => s.code !== 'E_MANIFEST_REPLAY') : undefined);
      accepted = why === undefined;
      first = why;
    }
    const res: ReceiveResult = { accepted, refsChanged: [...changed].sort(), skipped, tips };
    if (!accepted && first !== undefined) return { ...res, code: first.code, message: first.message };
    return res;
  }

  /**
   * What can be decided before the bundle is read: verification (without the bundle hash),
   * scope, replay and, for a push, the stream's sequence. The transport calls this with the
   * manifests and chain from the request's headers and refuses before writing anything to
   * disk; receive() checks all of it again with the bundle in quarantine.
   */
  precheck(now: number, projectId: Hex, updates: readonly SignedUpdate[], exact: boolean): { ok: true } | { ok: false; code: RefusalCode; message: string } {
    const mode = exact && updates.length === 1 ? 'push' : 'sync';
    for (const u of updates) {
      const r = this.admit(now, projectId, u, null, mode);
      if ('code' in r && (mode === 'push' || isFatal(r.code))) return { ok: false, code: r.code, message: r.message };
    }
    return { ok: true };
  }

  private admit(now: number, projectId: Hex, u: SignedUpdate, bundleSha256: Hex | null, mode: 'push' | 'sync'): { v: Extract<ManifestVerdict, { ok: true }>; meta: ProjectMeta | undefined } | { code: RefusalCode; message: string } {
    const v = this.verifier.verify(projectId, u, mode === 'push' ? bundleSha256 : null, now);
    if (!v.ok) return { code: v.code, message: v.message };
    const m = v.manifest;
    const meta = this.store.project(projectId);
    if (m.scope === 'members-only' && meta?.member !== true) {
      return { code: 'E_NOT_MEMBER', message: `project ${projectId} is members-only and no user of this envoy holds it` };
    }
    if (m.scope === 'members-only' && !this.localMember(projectId)) {
      return { code: 'E_NOT_MEMBER', message: `project ${projectId} is members-only and no local member holds it any more (its members here left)` };
    }
    if (this.store.hasApplied(projectId, v.id)) return { code: 'E_MANIFEST_REPLAY', message: `manifest ${v.id} (seq ${m.seq}) was already applied here` };
    const high = this.store.streamSeq(projectId, streamOf(m));
    if (mode === 'push' && m.seq <= high) {
      return { code: 'E_MANIFEST_ROLLBACK', message: `seq ${m.seq} from ${m.pusher} on envoy ${m.envoy} is not above ${high}, the highest applied here` };
    }
    return { v, meta };
  }

  private applyOne(now: number, projectId: Hex, u: SignedUpdate, bundleSha256: Hex | null, mode: 'push' | 'sync'): { changed: string[]; skipped: RefRefusal[] } | { code: RefusalCode; message: string } {
    const a = this.admit(now, projectId, u, bundleSha256, mode);
    if ('code' in a) return a;
    const { v, meta: known } = a;
    const m = v.manifest;
    const stream = streamOf(m);
    const refs = this.store.refs(projectId);
    const apply: RefUpdate[] = [];
    const skipped: RefRefusal[] = [];
    for (const r of m.refs) {
      const d = this.judgeRef(projectId, refs.get(r.ref), r, stream, m.seq);
      if (d.kind === 'apply') apply.push(r);
      else if (d.kind === 'refuse') {
        if (mode === 'push') return { code: d.code, message: `${r.ref}: ${d.message}` };
        skipped.push({ ref: r.ref, code: d.code, message: d.message });
      }
    }
    if (apply.length === 0 && skipped.length === 0 && mode === 'push') return { code: 'E_MANIFEST_REPLAY', message: `every ref of manifest ${v.id} is already at its new tip here` };
    if (apply.length > 0) this.store.commit(known ?? { projectId, scope: m.scope, member: false }, u, v.id, apply);
    return { changed: apply.map((r) => r.ref), skipped };
  }

  private judgeRef(projectId: Hex, cur: { tip: string | null; stream: string; seq: number } | undefined, u: RefUpdate, stream: string, seq: number): RefVerdict {
    if (cur === undefined) return { kind: 'apply' }; // a ref this envoy never had: no history to protect
    if (cur.stream === stream && seq <= cur.seq) return { kind: 'refuse', code: 'E_MANIFEST_ROLLBACK', message: `set here by seq ${cur.seq} of the same pusher and envoy; this is seq ${seq}` };
    if (cur.tip === u.new) return { kind: 'have' };
    if (cur.tip === u.old) return { kind: 'apply' };
    if (cur.tip !== null && u.new !== null && this.store.isAncestor(projectId, cur.tip, u.new)) return { kind: 'apply' };
    if (u.new !== null && cur.tip !== null && this.store.isAncestor(projectId, u.new, cur.tip)) {
      return { kind: 'refuse', code: 'E_MANIFEST_ROLLBACK', message: `tip ${u.new} is behind ${cur.tip}, held here` };
    }
    return { kind: 'refuse', code: 'E_REF_DIVERGED', message: `held here at ${cur.tip ?? '(deleted)'}, the manifest moves ${u.old ?? '(new)'} → ${u.new ?? '(deleted)'}` };
  }

  // --- bookkeeping -------------------------------------------------------------------

  private state(projectId: Hex, peer: PeerKey): PeerState {
    const k = `${projectId} ${peer}`;
    let s = this.peerState.get(k);
    if (s === undefined) {
      s = { tips: null, dirty: false, sending: null, fetching: null, failures: 0, retryAt: 0, notMember: false, refused: null };
      this.peerState.set(k, s);
    }
    return s;
  }

  /**
   * Forgets peers that left the table (expired announces, removed cross-subnet entries)
   * and have nothing in flight, so the state stays as bounded as the table. One with a
   * send still owed is kept for UNLISTED_RETRIES failed attempts (about four minutes of
   * backoff: a short outage heals by the retry), then dropped too. A peer heard again starts
   * unknown: its next bundle is full, or anti-entropy catches it up.
   */
  private prune(now: number): void {
    const listed = new Map<Hex, Set<PeerKey>>();
    const envoys = this.peers.envoys(now).map((p) => p.key);
    for (const [k, st] of this.peerState) {
      if (st.sending !== null || st.fetching !== null) continue;
      const i = k.indexOf(' ');
      const pid = k.slice(0, i);
      let keys = listed.get(pid);
      if (keys === undefined) listed.set(pid, (keys = new Set([...this.peers.peersOf(pid, now).map((p) => p.key), ...envoys])));
      if (!keys.has(k.slice(i + 1)) && (!st.dirty || st.failures >= UNLISTED_RETRIES)) this.peerState.delete(k);
    }
  }

  /** (project, peer) pairs this machine keeps state for: bounded by the peer table. */
  get trackedPeers(): number {
    return this.peerState.size;
  }

  /** What this envoy believes a peer holds of a project (null: unknown). */
  knownTips(projectId: Hex, peer: PeerKey): Tips | null {
    return this.peerState.get(`${projectId} ${peer}`)?.tips ?? null;
  }

  private take(requestId: number, kind: Pending['kind']): Pending | undefined {
    const p = this.pending.get(requestId);
    if (p === undefined || p.kind !== kind) return undefined; // late answer after a timeout: already counted
    this.pending.delete(requestId);
    return p;
  }

  private fail(st: PeerState, now: number, kind: Pending['kind']): void {
    this.counters.failures++;
    st.failures++;
    st.tips = null;
    // A send that did not arrive is sent again after the backoff; a failed fetch waits for the next round.
    if (kind === 'send') st.dirty = true;
    const backoff = Math.min(this.cfg.retryMaxMs, this.cfg.retryBaseMs * 2 ** Math.min(st.failures - 1, 20));
    st.retryAt = now + backoff / 2 + this.rng.float() * (backoff / 2);
  }

  private step(now: number, outputs: ReplicationOutput[]): Step {
    let wake: number | null = this.nextRound;
    const see = (t: number): void => {
      if (wake === null || t < wake) wake = t;
    };
    for (const p of this.pending.values()) see(p.deadline);
    for (const st of this.peerState.values()) if (st.dirty && st.sending === null && st.retryAt > now) see(st.retryAt);
    const exp = this.peers.nextExpiry();
    if (exp !== null) see(exp);
    return { outputs, wakeAt: wake };
  }
}

/** Failed sends after which a peer no longer in the table is forgotten (2+4+…+60 s ≈ 4 min). */
export const UNLISTED_RETRIES = 8;

const FATAL = new Set<RefusalCode>(['E_NOT_MEMBER', 'E_MANIFEST_CHAIN', 'E_MANIFEST_SIGNATURE', 'E_MANIFEST_SIGNER_NOT_LEAF', 'E_MANIFEST_WRONG_PROJECT', 'E_MANIFEST_MALFORMED', 'E_MANIFEST_BUNDLE_HASH']);
function isFatal(code: RefusalCode): boolean {
  return FATAL.has(code);
}

function pick<T>(a: readonly T[], rng: Rng): T {
  return a[rng.int(a.length)]!;
}

/** One string for a set of tips (refs sorted), to remember which tips a refusal was for. */
function tipsKey(t: Readonly<Tips>): string {
  return JSON.stringify(Object.keys(t).sort().map((k) => [k, t[k]]));
}

function sameTips(a: Readonly<Tips>, b: Readonly<Tips>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function hasWhatItLacks(refs: ReadonlyMap<string, { tip: string | null }>, theirs: Readonly<Tips>): boolean {
  for (const [ref, s] of refs) if (s.tip !== null && theirs[ref] !== s.tip) return true;
  return false;
}

/**
 * The peer holds every old tip of the update: the push's own bundle (whose prerequisites
 * are those tips) fits. Refs the update does not name do not matter: ours that it lacks
 * would be further updates, and its own are not touched.
 */
function isExactBase(refs: readonly RefUpdate[], theirs: Readonly<Tips>): boolean {
  return refs.every((r) => (theirs[r.ref] ?? null) === r.old);
}
