/**
 * The envoys' swarm traits as vigosrv keeps them: one row per envoy in SQLite
 * (`envoy_traits`: the sha, the canonical JSON as the envoy sent it, when it arrived), held
 * parsed in memory, reloaded at start so the views survive a restart. The check-in path
 * compares shas only; traits are parsed once, when they arrive. The views, the fleet name
 * map and each envoy's peer hints are rebuilt from the stored traits when they change
 * (views.ts) and cached until the next change.
 */
import type { Db } from '../db.js';
import { fleetSha, MAX_TRAITS_BYTES, parseTraits, traitsSha, type GitbackFleetView, type NameMap, type PuddleFleetView, type Traits } from '../../wire/swarm-fleet.js';
import { NO_TRAITS_SHA, type SwarmFleetMsg } from '../../wire/checkin.js';
import { buildGitbackView, buildNameMap, buildPeerHints, buildPuddleView, type NameMapResult, type StoredTraits, type ViewOptions } from './views.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS envoy_traits (
  envoy_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, traits_json TEXT NOT NULL, received_at INTEGER NOT NULL)`;

/** What the store needs to know of an envoy when it builds views (the envoy index's record). */
export interface FleetEnvoy {
  id: string;
  hostname: string;
  ip: string | null;
  lastSeenMs: number | null;
  revoked: boolean;
}

export interface FleetStoreOptions {
  db: Db;
  log: (msg: string) => void;
  view: ViewOptions;
  /** the envoy's record, undefined when it is not this server's (any more) */
  envoy: (id: string) => FleetEnvoy | undefined;
  /** the envoy's gitback gate, resolved for its enrolled hostname */
  gitbackEnabled: (hostname: string) => boolean;
  /** largest traits text taken per envoy (default MAX_TRAITS_BYTES) */
  maxBytes?: number;
}

interface Held {
  sha256: string;
  traits: Traits;
  receivedMs: number;
}

export type TraitsVerdict = { ok: true } | { ok: false; reason: string };

export class FleetStore {
  private readonly held = new Map<string, Held>();
  /** bumped on every change a view depends on (traits stored or dropped, an address changed) */
  private version = 0;
  private built: { version: number; names: NameMapResult; stored: StoredTraits[] } | null = null;
  private readonly fleets = new Map<string, { version: number; msg: SwarmFleetMsg }>();
  private readonly addrs = new Map<string, string | null>();
  /** invalid name claims seen by the last name map build */
  invalidClaims = 0;

  constructor(private readonly o: FleetStoreOptions) {
    o.db.exec(SCHEMA);
    let dropped = 0;
    for (const r of o.db.prepare('SELECT envoy_id, sha256, traits_json, received_at FROM envoy_traits').iterate() as Iterable<{ envoy_id: string; sha256: string; traits_json: string; received_at: number }>) {
      try {
        if (traitsSha(r.traits_json) !== r.sha256) throw new Error('its sha256 does not match its text');
        this.held.set(r.envoy_id, { sha256: r.sha256, traits: parseTraits(r.traits_json, `stored traits of envoy ${r.envoy_id}`), receivedMs: r.received_at });
      } catch (e) {
        dropped++;
        o.log(`swarm fleet: dropping the stored traits of envoy ${r.envoy_id} (${e instanceof Error ? e.message : String(e)}); the envoy sends them again at its next check-in`);
        o.db.prepare('DELETE FROM envoy_traits WHERE envoy_id = ?').run(r.envoy_id);
      }
    }
    if (this.held.size > 0 || dropped > 0) o.log(`swarm fleet: ${this.held.size} envoy(s)' traits loaded${dropped > 0 ? `, ${dropped} dropped` : ''}`);
  }

  /** The traits sha held for an envoy (NO_TRAITS_SHA when none): Ack.traits_sha256. */
  heldSha(id: string): string {
    return this.held.get(id)?.sha256 ?? NO_TRAITS_SHA;
  }

  get envoyCount(): number {
    return this.held.size;
  }

  /** The check-in's address; a change invalidates the hints that name it. */
  noteAddr(id: string, ip: string | null): void {
    if (this.addrs.get(id) !== ip) {
      const known = this.addrs.has(id);
      this.addrs.set(id, ip);
      if (known || this.held.has(id)) this.version++;
    }
  }

  /**
   * Traits an envoy sent: checked (size, sha, shape) and stored before they are
   * acknowledged. Refused traits leave the held ones standing; the reason is logged.
   */
  accept(id: string, hostname: string, sha: string, text: string, nowMs: number): TraitsVerdict {
    const max = this.o.maxBytes ?? MAX_TRAITS_BYTES;
    const bytes = Buffer.byteLength(text, 'utf8');
    const refuse = (reason: string): TraitsVerdict => {
      this.o.log(`swarm fleet: envoy ${hostname} (${id}): traits refused: ${reason}; keeping ${this.held.has(id) ? 'the ones it sent before' : 'none'}`);
      return { ok: false, reason };
    };
    if (bytes > max) return refuse(`${bytes} bytes, over the ${max}-byte limit per envoy (the agent cuts its traits to fit; is it an older or foreign agent?)`);
    if (traitsSha(text) !== sha) return refuse('traits_sha256 is not the sha256 of traits_json');
    let traits: Traits;
    try {
      traits = parseTraits(text);
    } catch (e) {
      return refuse(e instanceof Error ? e.message.slice(0, 300) : String(e));
    }
    this.o.db.prepare('INSERT INTO envoy_traits (envoy_id, sha256, traits_json, received_at) VALUES (?, ?, ?, ?) ON CONFLICT(envoy_id) DO UPDATE SET sha256 = excluded.sha256, traits_json = excluded.traits_json, received_at = excluded.received_at').run(id, sha, text, nowMs);
    this.held.set(id, { sha256: sha, traits, receivedMs: nowMs });
    this.version++;
    return { ok: true };
  }

  /** Forget an envoy (revoked, moved away). */
  drop(id: string): void {
    if (!this.held.delete(id)) return;
    this.o.db.prepare('DELETE FROM envoy_traits WHERE envoy_id = ?').run(id);
    this.version++;
  }

  private build(): { names: NameMapResult; stored: StoredTraits[] } {
    if (this.built?.version === this.version) return this.built;
    const stored: StoredTraits[] = [];
    for (const [id, h] of this.held) {
      const e = this.o.envoy(id);
      if (e === undefined || e.revoked) continue;
      stored.push({ envoy_id: id, hostname: e.hostname, addr: e.ip, gitback_enabled: this.o.gitbackEnabled(e.hostname), last_seen_ms: Math.max(e.lastSeenMs ?? 0, h.receivedMs), traits: h.traits });
    }
    const names = buildNameMap(stored);
    this.invalidClaims = names.invalid;
    this.built = { version: this.version, names, stored };
    return this.built;
  }

  /** The name map and hints this envoy should hold (cached until something changes). */
  fleetFor(id: string): SwarmFleetMsg {
    const c = this.fleets.get(id);
    if (c !== undefined && c.version === this.version) return c.msg;
    const b = this.build();
    const hints = buildPeerHints(b.stored, id);
    const msg: SwarmFleetMsg = { sha256: fleetSha(b.names.map.sha256, hints.sha256), name_map_json: JSON.stringify(b.names.map), peer_hints_json: JSON.stringify(hints) };
    this.fleets.set(id, { version: this.version, msg });
    return msg;
  }

  nameMap(): NameMap {
    return this.build().names.map;
  }

  /** The stored traits with each envoy's last check-in as of now (the build caches an older one). */
  private current(): { names: NameMapResult; stored: StoredTraits[] } {
    const b = this.build();
    const stored = b.stored.map((s) => ({ ...s, last_seen_ms: Math.max(this.o.envoy(s.envoy_id)?.lastSeenMs ?? 0, this.held.get(s.envoy_id)?.receivedMs ?? 0) }));
    return { names: b.names, stored };
  }

  gitbackView(nowMs: number): GitbackFleetView {
    const b = this.current();
    return buildGitbackView(b.stored, b.names, nowMs, this.o.view);
  }

  puddleView(nowMs: number): PuddleFleetView {
    const b = this.current();
    return buildPuddleView(b.stored, b.names, nowMs, this.o.view);
  }
}
