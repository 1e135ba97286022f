/**
 * ProjectPeers: where to try for each project. Fed by LAN announces (which expire), by
 * `project.json::cross_subnet_members` (which do not) and by the server's peer hints
 * (`/var/lib/vigo/swarm/peer-hints.json`, replaced whole each time the agent reads it);
 * merged and deduplicated by host:port, in that order (docs/swarm.md "Discovery layers").
 * A hint names the envoy id it expects at its address, and the transport's mTLS pins it: an
 * address where another envoy answers is refused before a byte is sent. Nothing here proves who a peer is — the swarm transport's mTLS does — so the
 * table only nominates, and it is bounded so that a flood of spoofed announces costs
 * memory it can name, not memory without end. Time comes in as a number (ms) on each call.
 */
import { DEFAULT_PEER_PORT, isAnnounceHost, type Announce } from '../wire/gitback-announce.js';
import type { Hex, Scope } from '../trust/index.js';

/** Announce interval the agent uses unless configured (Syncthing: 30–60 s). */
export const DEFAULT_ANNOUNCE_INTERVAL_MS = 30_000;
/** An announced entry lives for 3 intervals after the last line that named it. */
export const DEFAULT_PEER_TTL_MS = 3 * DEFAULT_ANNOUNCE_INTERVAL_MS;
export const MAX_PROJECTS = 4096;
export const MAX_PEERS_PER_PROJECT = 1024;
export const MAX_ENVOYS = 4096;
/** server hints kept per project (the contract's MAX_HINTS_PER_PROJECT) */
export const MAX_HINTS_PER_PROJECT = 16;

/** `host:port`, host lowercased: the one spelling a peer has in every table. */
export type PeerKey = string;

export function peerKey(host: string, port: number): PeerKey {
  return `${host.toLowerCase()}:${port}`;
}

export type PeerSource = 'announce' | 'cross-subnet' | 'hint';

/** One server hint for a project: the envoy the server says holds it, at the address it checked in from. */
export interface HintEntry {
  envoyId: string;
  host: string;
  /** default 1531 (a hint carries no port; a presence line heard for the host gives one) */
  port?: number;
}

export interface Peer {
  key: PeerKey;
  host: string;
  port: number;
  /** from the peer's presence announce, when one was heard (a hint: mTLS has the truth) */
  envoyId: string | null;
  /** announced: it says it holds the bare repo; cross-subnet: listed in project.json; hint: the server says it holds it */
  sources: PeerSource[];
  /** the scope the holder announced (null: an old 2-field line or a cross-subnet entry) */
  scope: Scope | null;
}

interface Held {
  host: string;
  /** null: an old 2-field line (and none with a handle heard from this host before) */
  handle: string | null;
  scope: Scope | null;
  expiresAt: number;
}

interface Presence {
  host: string;
  envoyId: string;
  port: number;
  expiresAt: number;
}

export interface ObserveResult {
  accepted: boolean;
  /** accepted, and the entry is new or had expired (a peer first heard: a heal, a restart) */
  fresh?: boolean;
  /** why not: the table is full, or the announce names this envoy */
  reason?: 'self' | 'table-full';
}

export class ProjectPeers {
  readonly ttlMs: number;
  private readonly holders = new Map<Hex, Map<string, Held>>(); // pid → lowercased host → entry
  private readonly presence = new Map<string, Presence>(); // lowercased host → entry
  private readonly crossSubnet = new Map<Hex, Map<PeerKey, { host: string; port: number }>>();
  /** cross-subnet key → the envoy id its certificate proved on a call (learnEnvoyId) */
  private readonly learned = new Map<PeerKey, string>();
  private readonly hints = new Map<Hex, Map<PeerKey, { host: string; port: number; envoyId: string }>>();
  private readonly selfEnvoyId: string | null;
  private readonly selfHost: string;
  /** counters for the agent's status: announces dropped because a table was full */
  dropped = 0;

  constructor(opts: { selfHost: string; ttlMs?: number; selfEnvoyId?: string }) {
    this.selfHost = opts.selfHost.toLowerCase();
    this.selfEnvoyId = opts.selfEnvoyId ?? null;
    this.ttlMs = opts.ttlMs ?? DEFAULT_PEER_TTL_MS;
  }

  /** Records one parsed announce heard at `now`. */
  observe(a: Announce, now: number): ObserveResult {
    const host = a.host.toLowerCase();
    if (host === this.selfHost) return { accepted: false, reason: 'self' };
    const expiresAt = now + this.ttlMs;
    if (a.kind === 'envoy') {
      const had = this.presence.get(host);
      if (had === undefined && this.presence.size >= MAX_ENVOYS) return this.full();
      this.presence.set(host, { host: a.host, envoyId: a.envoyId, port: a.port, expiresAt });
      return { accepted: true, fresh: had === undefined || had.expiresAt <= now };
    }
    let m = this.holders.get(a.projectId);
    if (m === undefined) {
      if (this.holders.size >= MAX_PROJECTS) return this.full();
      m = new Map();
      this.holders.set(a.projectId, m);
    }
    if (!m.has(host) && m.size >= MAX_PEERS_PER_PROJECT) return this.full();
    // An old 2-field line from a host that gave its scope before does not erase it.
    const before = m.get(host);
    m.set(host, { host: a.host, handle: a.handle ?? before?.handle ?? null, scope: a.scope ?? before?.scope ?? null, expiresAt });
    return { accepted: true, fresh: before === undefined || before.expiresAt <= now };
  }

  private full(): ObserveResult {
    this.dropped++;
    return { accepted: false, reason: 'table-full' };
  }

  /**
   * Replaces the project's cross_subnet_members (`host` or `host:port`). Returns the
   * entries it could not read, each with why, so the caller can name them.
   */
  setCrossSubnetMembers(projectId: Hex, entries: readonly string[]): Array<{ entry: string; reason: string }> {
    const m = new Map<PeerKey, { host: string; port: number }>();
    const bad: Array<{ entry: string; reason: string }> = [];
    for (const entry of entries) {
      const r = parseHostPort(entry);
      if ('reason' in r) bad.push({ entry, reason: r.reason });
      else if (r.host.toLowerCase() !== this.selfHost && m.size < MAX_PEERS_PER_PROJECT) m.set(peerKey(r.host, r.port), r);
    }
    if (m.size === 0) this.crossSubnet.delete(projectId);
    else this.crossSubnet.set(projectId, m);
    for (const k of this.learned.keys()) if (!this.isCrossSubnet(k)) this.learned.delete(k);
    return bad;
  }

  /**
   * Replaces every project's server hints. Entries naming this envoy (by id or host) are
   * dropped, as are entries past the bounds (MAX_PROJECTS projects, MAX_HINTS_PER_PROJECT
   * each); returns how many were dropped for a bound, so the caller can say so.
   */
  setPeerHints(hints: ReadonlyMap<Hex, readonly HintEntry[]> | Record<Hex, readonly HintEntry[]>): number {
    const entries = hints instanceof Map ? [...hints.entries()] : Object.entries(hints);
    this.hints.clear();
    let cut = 0;
    for (const [pid, list] of entries) {
      const m = new Map<PeerKey, { host: string; port: number; envoyId: string }>();
      for (const h of list) {
        if (h.host.toLowerCase() === this.selfHost || h.envoyId === this.selfEnvoyId) continue;
        if (m.size >= MAX_HINTS_PER_PROJECT) {
          cut++;
          continue;
        }
        const port = h.port ?? DEFAULT_PEER_PORT;
        m.set(peerKey(h.host, port), { host: h.host, port, envoyId: h.envoyId });
      }
      if (m.size === 0) continue;
      if (this.hints.size >= MAX_PROJECTS) {
        cut += m.size;
        continue;
      }
      this.hints.set(pid, m);
    }
    return cut;
  }

  /** Projects the server hints at, with their hints (for the agent's status). */
  hintedProjects(): number {
    return this.hints.size;
  }

  private isCrossSubnet(key: PeerKey): boolean {
    for (const m of this.crossSubnet.values()) if (m.has(key)) return true;
    return false;
  }

  /**
   * A call to a cross-subnet entry proved, in its TLS handshake, which envoy answers there:
   * record it, and later calls expect that id. Only for listed entries (bounded by them);
   * an id from an announce or a body never lands here. Returns whether it was recorded.
   */
  learnEnvoyId(key: PeerKey, envoyId: string): boolean {
    if (!this.isCrossSubnet(key)) return false;
    this.learned.set(key, envoyId);
    return true;
  }

  private portOf(host: string, now: number): { port: number; envoyId: string | null } {
    const p = this.presence.get(host);
    return p !== undefined && p.expiresAt > now ? { port: p.port, envoyId: p.envoyId } : { port: DEFAULT_PEER_PORT, envoyId: null };
  }

  /**
   * Every peer nominated for the project at `now`, deduplicated by host:port, in the order
   * the layers are consulted: live announcers, then cross-subnet entries, then server hints
   * (each layer sorted by key). A peer several layers name appears once, at its first
   * layer, with every source. Bounded: MAX_PEERS_PER_PROJECT announcers, as many listed
   * entries, MAX_HINTS_PER_PROJECT hints.
   */
  peersOf(projectId: Hex, now: number): Peer[] {
    const out = new Map<PeerKey, Peer>();
    const byKey = (a: { key: PeerKey }, b: { key: PeerKey }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    const announced: Peer[] = [];
    for (const [host, h] of this.holders.get(projectId) ?? []) {
      if (h.expiresAt <= now) continue;
      const { port, envoyId } = this.portOf(host, now);
      const key = peerKey(host, port);
      announced.push({ key, host: h.host, port, envoyId, sources: ['announce'], scope: h.scope });
    }
    for (const p of announced.sort(byKey)) out.set(p.key, p);
    const listed = [...(this.crossSubnet.get(projectId) ?? [])].map(([key, c]) => ({ key, ...c })).sort(byKey);
    for (const c of listed) {
      const seen = out.get(c.key);
      if (seen !== undefined) seen.sources.push('cross-subnet');
      else {
        // what a handshake proved wins over what a presence line claims
        const p = this.presence.get(c.host.toLowerCase());
        const envoyId = this.learned.get(c.key) ?? (p !== undefined && p.expiresAt > now && p.port === c.port ? p.envoyId : null);
        out.set(c.key, { key: c.key, host: c.host, port: c.port, envoyId, sources: ['cross-subnet'], scope: null });
      }
    }
    const hinted = [...(this.hints.get(projectId) ?? [])].map(([key, h]) => ({ key, ...h })).sort(byKey);
    for (const h of hinted) {
      const seen = out.get(h.key);
      if (seen === undefined) {
        // the id the transport pins: the certificate there must name the hinted envoy
        out.set(h.key, { key: h.key, host: h.host, port: h.port, envoyId: h.envoyId, sources: ['hint'], scope: null });
        continue;
      }
      seen.sources.push('hint');
      // an announcer no presence line was heard for is called as the hint's envoy (still proven by mTLS);
      // a listed entry keeps learning its id from its certificate, and a heard id is never replaced
      if (seen.envoyId === null && !seen.sources.includes('cross-subnet')) seen.envoyId = h.envoyId;
    }
    return [...out.values()];
  }

  /** Whether `envoyId` is an envoy this one knows at `now`: a live presence announce, or proved on a call to a configured member. */
  knowsEnvoy(envoyId: string, now: number): boolean {
    for (const p of this.presence.values()) if (p.envoyId === envoyId && p.expiresAt > now) return true;
    for (const id of this.learned.values()) if (id === envoyId) return true;
    return false;
  }

  /** Every gitback-enabled envoy heard at `now` (presence lines), sorted by key. */
  envoys(now: number): Peer[] {
    const out: Peer[] = [];
    for (const p of this.presence.values()) {
      if (p.expiresAt <= now) continue;
      out.push({ key: peerKey(p.host, p.port), host: p.host, port: p.port, envoyId: p.envoyId, sources: ['announce'], scope: null });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Projects some live peer announces (for gitback-announced.json and DR catch-up). */
  announcedProjects(now: number): Array<{ projectId: Hex; hosts: string[] }> {
    const out: Array<{ projectId: Hex; hosts: string[] }> = [];
    for (const [pid, m] of this.holders) {
      const hosts = [...m.values()].filter((h) => h.expiresAt > now).map((h) => h.host).sort();
      if (hosts.length > 0) out.push({ projectId: pid, hosts });
    }
    return out.sort((a, b) => (a.projectId < b.projectId ? -1 : 1));
  }

  /**
   * What live peers announce, grouped by (project, handle) — a host naming another handle
   * for the same id makes its own entry, so a lie cannot hide the truth — with the scope
   * the first of its hosts (in sort order) gave. For gitback-announced.json.
   */
  announcedEntries(now: number): Array<{ projectId: Hex; handle: string | null; scope: Scope | null; hosts: string[] }> {
    const out: Array<{ projectId: Hex; handle: string | null; scope: Scope | null; hosts: string[] }> = [];
    for (const [pid, m] of this.holders) {
      const groups = new Map<string, { handle: string | null; scope: Scope | null; hosts: string[] }>();
      const live = [...m.values()].filter((h) => h.expiresAt > now).sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
      for (const h of live) {
        const k = h.handle === null ? '' : `:${h.handle}`;
        const g = groups.get(k) ?? { handle: h.handle, scope: h.scope, hosts: [] };
        g.hosts.push(h.host);
        groups.set(k, g);
      }
      for (const g of groups.values()) out.push({ projectId: pid, ...g });
    }
    return out;
  }

  /** Drops expired entries; returns how many went. */
  expire(now: number): number {
    let n = 0;
    for (const [pid, m] of this.holders) {
      for (const [host, h] of m) {
        if (h.expiresAt > now) continue;
        m.delete(host);
        n++;
      }
      if (m.size === 0) this.holders.delete(pid);
    }
    for (const [host, p] of this.presence) {
      if (p.expiresAt > now) continue;
      this.presence.delete(host);
      n++;
    }
    return n;
  }

  /** When the next announced entry expires (ms), or null when none will. */
  nextExpiry(): number | null {
    let next: number | null = null;
    const see = (t: number): void => {
      if (next === null || t < next) next = t;
    };
    for (const m of this.holders.values()) for (const h of m.values()) see(h.expiresAt);
    for (const p of this.presence.values()) see(p.expiresAt);
    return next;
  }
}

/** `host` or `host:port` (a cross_subnet_members entry). */
export function parseHostPort(entry: string): { host: string; port: number } | { reason: string } {
  if (typeof entry !== 'string') return { reason: 'not a string' };
  const i = entry.lastIndexOf(':');
  const host = i < 0 ? entry : entry.slice(0, i);
  if (!isAnnounceHost(host)) return { reason: `not a host name: ${JSON.stringify(host.slice(0, 64))}` };
  if (i < 0) return { host, port: DEFAULT_PEER_PORT };
  const ps = entry.slice(i + 1);
  const port = Number(ps);
  if (!/^[1-9][0-9]{0,4}$/.test(ps) || port > 65535) return { reason: `not a port (1-65535): ${JSON.stringify(ps.slice(0, 16))}` };
  return { host, port };
}
