/**
 * LAN discovery over UDP multicast (issue 11 item 3): every interval this envoy sends its
 * presence line (`VIGOENVOY:<host>:<envoy id>:<peer port>`) and one
 * `GITBACKPROJECT:<host>:<pid>:<handle>:<dr_scope>` line per bare repo it holds, to the
 * group (default 239.77.15.31, port 15310, TTL 1: announces stay on the link). Datagrams
 * heard feed the ProjectPeers table; an oversized or malformed one, or a line whose host
 * is an IPv4 address other than the datagram's source (spoofed), is counted and ignored. An
 * announce only nominates a peer: the transport's mTLS proves who answers there.
 *
 * It also writes the world-readable cache `gitback-announced.json` (0644, atomically, under
 * the gitback base; docs/wire-formats.md §21) that puddle unlock reads for auto-adoption: the
 * projects peers announce, their handle, scope and (when a known key derives the id) founder,
 * and which hosts announce them.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { writeFileAtomic } from '../platform/atomic.js';
import type { Clock } from '../platform/clock.js';
import type { Hex, Scope } from '../trust/index.js';
import { encodeAnnounceDatagrams, MAX_ANNOUNCE_DATAGRAM, parseAnnounceDatagram, type Announce } from '../wire/gitback-announce.js';
import { ANNOUNCED_CACHE_FILE, deriveFounder, encodeAnnouncedCache } from '../wire/gitback-announced.js';
import { DEFAULT_ANNOUNCE_INTERVAL_MS, type ProjectPeers } from './peers.js';

export { ANNOUNCED_CACHE_FILE };
export const DEFAULT_ANNOUNCE_GROUP = '239.77.15.31';
export const DEFAULT_ANNOUNCE_PORT = 15310;

export interface AnnouncerOptions {
  /** the host name peers reach this envoy at (its announced host) */
  host: string;
  envoyId: string;
  /** the swarm transport's port, announced on the presence line */
  peerPort: number;
  /** the address of the interface to send and join on (default: the kernel's choice) */
  interfaceAddress?: string;
  group?: string;
  port?: number;
  intervalMs?: number;
  peers: ProjectPeers;
  /** the bare repos this envoy holds, asked at every announce; handle and scope null together: a replica held for no local user (the 2-field line) */
  held: () => Array<{ projectId: Hex; handle: string | null; scope: Scope | null }>;
  /** where gitback-announced.json goes (`<gitback base>/gitback-announced.json`); null: not written */
  cachePath: string | null;
  /**
   * Public keys (hex) this envoy knows (local projects' founders, the fleet name map): an
   * entry's founder is the one whose sha256(key ‖ handle) is its id, else null.
   */
  founderCandidates?: () => Iterable<Hex>;
  clock: Clock;
  /** called after a datagram added or refreshed a peer; `fresh`: it named one new or expired here */
  onPeers?: (fresh: boolean) => void;
  log?: (line: string) => void;
}

export interface AnnouncerCounters {
  sent: number;
  received: number;
  accepted: number;
  /** datagrams above MAX_ANNOUNCE_DATAGRAM */
  oversized: number;
  /** lines the parser refused */
  malformed: number;
  /** lines naming an IPv4 host other than the datagram's source */
  spoofed: number;
}

export class Announcer {
  readonly counters: AnnouncerCounters = { sent: 0, received: 0, accepted: 0, oversized: 0, malformed: 0, spoofed: 0 };
  readonly group: string;
  readonly port: number;
  private sock: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastCache = '';
  private readonly log: (line: string) => void;

  /** the lines of the last announce (announceIfChanged compares with it) */
  private lastSent = '';

  constructor(private readonly o: AnnouncerOptions) {
    this.group = o.group ?? DEFAULT_ANNOUNCE_GROUP;
    this.port = o.port ?? DEFAULT_ANNOUNCE_PORT;
    this.log = o.log ?? (() => {});
  }

  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    this.sock = s;
    s.on('message', (msg, rinfo) => this.heard(msg, rinfo.address));
    s.on('error', (e) => this.log(`swarm announcer: ${e.message}`));
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.port, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.addMembership(this.group, this.o.interfaceAddress);
    if (this.o.interfaceAddress !== undefined) s.setMulticastInterface(this.o.interfaceAddress);
    s.setMulticastTTL(1);
    s.setMulticastLoopback(false);
    this.announce();
    this.timer = setInterval(() => this.announce(), this.o.intervalMs ?? DEFAULT_ANNOUNCE_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.sock?.close();
    this.sock = null;
  }

  /** The lines this envoy sends now. */
  lines(): Announce[] {
    const out: Announce[] = [{ kind: 'envoy', host: this.o.host, envoyId: this.o.envoyId, port: this.o.peerPort }];
    for (const p of this.o.held()) out.push({ kind: 'project', host: this.o.host, projectId: p.projectId, handle: p.handle, scope: p.scope });
    return out;
  }

  /**
   * Announces now when what this envoy holds changed since the last announce (a project
   * joined, a first catch-up that made a repo): peers target it at their next push instead
   * of an announce interval later. True when it sent.
   */
  announceIfChanged(): boolean {
    if (this.sock === null || JSON.stringify(this.lines()) === this.lastSent) return false;
    this.announce();
    return true;
  }

  announce(): void {
    const s = this.sock;
    if (s === null) return;
    const lines = this.lines();
    this.lastSent = JSON.stringify(lines);
    for (const d of encodeAnnounceDatagrams(lines)) {
      s.send(d, this.port, this.group, (e) => {
        if (e) this.log(`swarm announcer: send to ${this.group}:${this.port}: ${e.message}`);
        else this.counters.sent++;
      });
    }
    this.writeCache();
  }

  /** One datagram from `from` (its source address). */
  heard(msg: Buffer, from: string): void {
    this.counters.received++;
    if (msg.length > MAX_ANNOUNCE_DATAGRAM) {
      this.counters.oversized++;
      return;
    }
    const parsed = parseAnnounceDatagram(msg);
    this.counters.malformed += parsed.refused.length;
    const now = this.o.clock.now();
    let changed = false;
    let fresh = false;
    for (const a of parsed.announces) {
      if (isIP(a.host) === 4 && a.host !== from) {
        this.counters.spoofed++;
        continue;
      }
      const r = this.o.peers.observe(a, now);
      if (r.accepted) {
        this.counters.accepted++;
        changed = true;
        fresh ||= r.fresh === true;
      }
    }
    if (changed) this.o.onPeers?.(fresh);
  }

  private writeCache(): void {
    if (this.o.cachePath === null) return;
    const entries = this.o.peers.announcedEntries(this.o.clock.now());
    let candidates: Hex[] = [];
    try {
      candidates = [...(this.o.founderCandidates?.() ?? [])];
    } catch (e) {
      this.log(`swarm announcer: founder keys unknown for ${this.o.cachePath}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const projects = entries.map((p) => ({
      project_id: p.projectId,
      handle: p.handle,
      founder: p.handle === null ? null : deriveFounder(p.projectId, p.handle, candidates),
      dr_scope: p.handle === null ? null : p.scope,
      hosts: p.hosts,
    }));
    const key = JSON.stringify(projects);
    if (key === this.lastCache) return;
    try {
      writeFileAtomic(this.o.cachePath, encodeAnnouncedCache({ written_at: Math.floor(this.o.clock.now() / 1000), projects }), { mode: 0o644, mkdirMode: 0o755 });
      this.lastCache = key;
    } catch (e) {
      this.log(`swarm announcer: cannot write ${this.o.cachePath}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
