/**
 * A deterministic simulator of roster replication (docs/spanner.md "The simulator"). It
 * runs the same RosterGossip the bolts run, for N bolts in one process: one ManualClock, a
 * seeded Rng for every random choice (the network's and each bolt's), per-message latency,
 * random loss, random partitions and heals, bolts joining and bolts revoked meanwhile.
 * Messages travel as JSON text (so bytes are real and receivers really parse). A run is
 * replayed exactly from its seed.
 *
 * What it measures: rounds from the last heal until every live bolt holds the roster of all
 * rows ever signed (the same digest), bytes sent per bolt per round, whether any merge
 * on any bolt ever undid a revocation that bolt had seen, and whether any bolt ever counted
 * a revocation signed by a revoked bolt (revenge).
 */
import { ManualClock, seededRng, type Rng } from '../platform/clock.js';
import { pubkeyHex, seedSigner, type Hex, type Signer } from '../trust/index.js';
import { rowId, signAdmit, signInviteConsumed, signRevoke, type RosterContext, type RosterRow } from '../wire/spanner-roster.js';
import { RosterGossip, type Outgoing } from './gossip.js';
import { emptyRoster, liveBolts, mergeRows, type RosterState } from './roster.js';
import { memoryRosterStore } from './store.js';

export interface SimOptions {
  bolts: number;
  seed: number | string;
  /** the envoy CA every simulated bolt advertises (a real PEM CA certificate) */
  caPem: string;
  roundMs?: number;
  fanout?: number;
  lossRate?: number;
  latencyMs?: [number, number];
  /** partition episodes, one after another, in the chaos window */
  partitions?: number;
  /** revocations during the run (each by the founder, the one revocation authority, of another bolt) */
  revocations?: number;
  /** bolts admitted during the run */
  joins?: number;
  /** give up this many rounds after the last heal */
  maxRoundsAfterHeal?: number;
  /** progress lines (partitions, heals, revocations, joins) */
  log?: (line: string) => void;
}

export interface SimResult {
  seed: number | string;
  bolts: number;
  boltsAtEnd: number;
  liveAtEnd: number;
  converged: boolean;
  /** rounds from the last heal until every live bolt held the full roster (null: never) */
  roundsToConverge: number | null;
  lastHealRound: number;
  /** times a merge on some bolt left a key it had seen revoked not revoked (or live again) */
  revocationsUndone: number;
  /** rows signed by a bolt after its revocation, refused in the final roster */
  refusedAfterRevocation: number;
  /** admissions of revoked keys (by bolts not yet aware), and how many the final roster refuses */
  readmissions: number;
  refusedReadmissions: number;
  /** revocations a revoked bolt signed of others (revenge), and how many the final roster refuses */
  revengeRevocations: number;
  refusedRevenge: number;
  /** times some bolt counted a revenge revocation after a merge (must be 0) */
  revengeCounted: number;
  revocations: number;
  joins: number;
  messages: number;
  lost: number;
  bytes: { steady: number; chaos: number; afterHeal: number };
  /** the digest the live bolts converged on */
  digest: Hex | null;
}

const T0_S = 1_764_000_000;

interface Event {
  at: number;
  seq: number;
  run: () => void | Promise<void>;
}

/** A binary min-heap of events by (at, seq). */
class Queue {
  private readonly h: Event[] = [];
  private seq = 0;
  get size(): number {
    return this.h.length;
  }
  push(at: number, run: () => void | Promise<void>): void {
    const e = { at, seq: this.seq++, run };
    const h = this.h;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Event | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
const less = (a: Event, b: Event): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

interface SimBolt {
  index: number;
  name: string;
  signer: Signer;
  pubkey: Hex;
  gossip: RosterGossip;
  wakeAt: number;
  revokedSeen: ReadonlyMap<Hex, unknown>;
  digest: Hex;
}

const pad = (i: number): string => String(i).padStart(4, '0');

export async function runRosterSim(opts: SimOptions): Promise<SimResult> {
  const n = opts.bolts;
  if (!Number.isSafeInteger(n) || n < 3) throw new RangeError(`runRosterSim: bolts ${n} must be an integer ≥ 3`);
  const roundMs = opts.roundMs ?? 1000;
  const fanout = opts.fanout ?? 3;
  const lossRate = opts.lossRate ?? 0.05;
  const [latMin, latMax] = opts.latencyMs ?? [5, 80];
  const episodes = opts.partitions ?? 3;
  const nRevocations = opts.revocations ?? Math.max(2, Math.round(n / 100));
  const nJoins = opts.joins ?? Math.max(2, Math.round(n / 100));
  const maxAfter = opts.maxRoundsAfterHeal ?? 20;
  const log = opts.log ?? (() => {});

  const rng: Rng = seededRng(opts.seed);
  const clock = new ManualClock(T0_S * 1000);
  const nowS = (): number => Math.floor(clock.now() / 1000);
  const keyOf = (i: number): Signer => seedSigner(seededRng(`${String(opts.seed)}/key/${i}`).bytes(32));
  const total = n + 2 * nJoins; // joiners, and one spare per join for the stale admits
  const signers = Array.from({ length: total }, (_, i) => keyOf(i));
  const ctx: RosterContext = { spannerId: 'sim', founder: pubkeyHex(signers[0]!.publicKey) };
  const fields = (i: number, at: number) => ({
    spanner_id: ctx.spannerId,
    bolt_id: `bolt-${pad(i)}`,
    pubkey: pubkeyHex(signers[i]!.publicKey),
    hostname: `bolt-${pad(i)}.sim.example`,
    peer_addr: `bolt-${pad(i)}.sim.example:8444`,
    patterns: [`*.r${pad(i)}.sim.example`],
    envoy_ca_pem: opts.caPem,
    admitted_at: at,
  });

  // Every row ever signed, merged in one place: the roster every live bolt must end with.
  const signed: RosterRow[] = [];
  let truth: RosterState = emptyRoster();
  const sign = (rows: RosterRow[]): void => {
    signed.push(...rows);
    truth = mergeRows(truth, rows, ctx).state;
  };

  // The founder admits itself and the first n-1 bolts at T0; every bolt starts holding that roster.
  const initial: RosterRow[] = [await signAdmit(signers[0]!, fields(0, T0_S))];
  for (let i = 1; i < n; i++) initial.push(await signAdmit(signers[0]!, fields(i, T0_S)));
  sign(initial);
  clock.set((T0_S + 1) * 1000);
  const start = clock.now();

  const queue = new Queue();
  const bolts: SimBolt[] = [];
  const byKey = new Map<Hex, SimBolt>();
  const group = new Map<Hex, number>(); // partition group of each bolt; absent = 0
  let messages = 0;
  let lost = 0;
  let bytesSent = 0;
  let revocationsUndone = 0;
  const revengeIds = new Set<Hex>();
  const revengeSeen = new Set<string>(); // `${bolt}/${row id}`: a revenge row some bolt counted

  // Live keys of a state at a second, cached (states are immutable values).
  const liveCache = new WeakMap<RosterState, { at: number; keys: Set<Hex> }>();
  const liveKeys = (s: RosterState): Set<Hex> => {
    const at = nowS();
    let c = liveCache.get(s);
    if (c === undefined || c.at !== at) liveCache.set(s, (c = { at, keys: new Set(liveBolts(s, at).map((b) => b.pubkey)) }));
    return c.keys;
  };
  const checkRevocations = (b: SimBolt): void => {
    const s = b.gossip.roster;
    if (s.digest === b.digest) return;
    for (const k of b.revokedSeen.keys()) if (!s.revoked.has(k) || (s.revoked.get(k)!.revoked_at <= nowS() && liveKeys(s).has(k))) revocationsUndone++;
    for (const id of revengeIds) if (s.held.has(id) && !s.refusedRows.has(id)) revengeSeen.add(`${b.index}/${id}`);
    b.revokedSeen = s.revoked;
    b.digest = s.digest;
  };
  const schedule = (b: SimBolt, wakeAt: number): void => {
    if (wakeAt < b.wakeAt || b.wakeAt <= clock.now()) {
      b.wakeAt = wakeAt;
      queue.push(wakeAt, () => {
        if (b.wakeAt !== wakeAt) return;
        b.wakeAt = -1;
        const out = b.gossip.tick();
        dispatch(b, out.send);
        schedule(b, out.wakeAt);
      });
    }
  };
  const dispatch = (from: SimBolt, send: readonly Outgoing[]): void => {
    for (const { to, msg } of send) {
      const text = JSON.stringify(msg);
      const bytes = Buffer.byteLength(text, 'utf8');
      messages++;
      bytesSent += bytes;
      const dest = byKey.get(to);
      if (dest === undefined || rng.float() < lossRate) {
        lost++;
        continue;
      }
      const latency = latMin + rng.float() * (latMax - latMin);
      queue.push(clock.now() + latency, () => {
        if ((group.get(from.pubkey) ?? 0) !== (group.get(dest.pubkey) ?? 0)) {
          lost++;
          return;
        }
        const out = dest.gossip.onMessage(from.pubkey, JSON.parse(text) as unknown, bytes);
        checkRevocations(dest);
        dispatch(dest, out.send);
      });
    }
  };
  const addBolt = (i: number, from: RosterState): SimBolt => {
    const pubkey = pubkeyHex(signers[i]!.publicKey);
    const store = memoryRosterStore([...from.held.values()], [...from.held.keys()]);
    const gossip = new RosterGossip({ self: pubkey, ctx, clock, rng, store, fanout, roundMs, state: from });
    const b: SimBolt = { index: i, name: `bolt-${pad(i)}`, signer: signers[i]!, pubkey, gossip, wakeAt: -1, revokedSeen: gossip.roster.revoked, digest: gossip.roster.digest };
    bolts.push(b);
    byKey.set(pubkey, b);
    schedule(b, clock.now());
    return b;
  };
  const initialState = truth;
  for (let i = 0; i < n; i++) addBolt(i, initialState);
  log(`sim: ${n} bolts started at one roster of ${initial.length} rows`);

  // The chaos window: partition episodes one after another, starting at round 3.
  const round = (r: number): number => start + r * roundMs;
  let r0 = 3;
  let lastHeal = 3;
  let lastFrom = 3;
  for (let e = 0; e < episodes; e++) {
    const from = r0 + rng.int(2);
    const len = (e === episodes - 1 ? 2 : 1) + rng.int(3); // the last is long enough to hold its events
    const groups = 2 + rng.int(2);
    queue.push(round(from), () => {
      for (const b of bolts) group.set(b.pubkey, rng.int(groups));
      log(`sim: round ${from}: partition into ${groups} groups`);
    });
    queue.push(round(from + len), () => {
      group.clear();
      log(`sim: round ${from + len}: heal`);
    });
    lastHeal = from + len;
    lastFrom = from;
    r0 = from + len + 1;
  }
  // Events fall in the chaos window; the first of each kind falls in the last partition, so
  // the last heal always has news to carry across.
  // Every event, and the stale admit 1.1 s after a revocation, happens before the last heal.
  const eventAt = (k: number): number => {
    const [a, b] = k === 0 && episodes > 0 ? [lastFrom, lastHeal] : [3, chaosEnd];
    return start + a * roundMs + rng.float() * Math.max(0, (b - a) * roundMs - 1200);
  };
  const chaosEnd = lastHeal;

  const liveNow = (b: SimBolt): boolean => liveKeys(b.gossip.roster).has(b.pubkey);
  const pick = (ok: (b: SimBolt) => boolean): SimBolt | null => {
    const c = bolts.filter(ok);
    return c.length === 0 ? null : c[rng.int(c.length)]!;
  };
  const truthLive = (b: SimBolt): boolean => liveKeys(truth).has(b.pubkey);

  // Revocations: the founder (the one revocation authority) revokes a live bolt, preferably
  // one in another group (so the revoked bolt goes on signing, unaware, until the heal). It
  // then admits a spare key: a row signed after its revocation, which every bolt must end up
  // refusing. And, aware or not (its key may be stolen), it signs revocations of a live bolt
  // and of the founder (revenge), which no bolt may ever count.
  let revocations = 0;
  let readmissions = 0;
  let revengeRevocations = 0;
  let joins = 0;
  let spare = n + nJoins;
  for (let k = 0; k < nRevocations; k++) {
    queue.push(eventAt(k), async () => {
      const revoker = bolts[0]!;
      const gRev = group.get(revoker.pubkey) ?? 0;
      const target = pick((b) => b !== revoker && b.index !== 0 && truthLive(b) && (group.size === 0 || (group.get(b.pubkey) ?? 0) !== gRev)) ?? pick((b) => b !== revoker && b.index !== 0 && truthLive(b));
      if (target === null) return;
      const row = await signRevoke(revoker.signer, { spanner_id: ctx.spannerId, pubkey: target.pubkey, revoked_at: nowS(), reason: 'sim' });
      sign([row]);
      revocations++;
      const out = revoker.gossip.addRows([row]);
      checkRevocations(revoker);
      dispatch(revoker, out.send);
      log(`sim: ${revoker.name} revokes ${target.name} at ${row.revoked_at}`);
      queue.push(clock.now() + 1150, async () => {
        const victim = pick((b) => b !== target && b.index !== 0 && truthLive(b) && (group.get(b.pubkey) ?? 0) === (group.get(target.pubkey) ?? 0)) ?? pick((b) => b !== target && b.index !== 0 && truthLive(b));
        const rows = [await signRevoke(target.signer, { spanner_id: ctx.spannerId, pubkey: revoker.pubkey, revoked_at: nowS(), reason: 'revenge' })];
        if (victim !== null) rows.push(await signRevoke(target.signer, { spanner_id: ctx.spannerId, pubkey: victim.pubkey, revoked_at: nowS(), reason: 'revenge' }));
        for (const r of rows) revengeIds.add(rowId(r));
        sign(rows);
        revengeRevocations += rows.length;
        const o = target.gossip.addRows(rows);
        checkRevocations(target);
        dispatch(target, o.send);
        log(`sim: ${target.name}, revoked, signs revocations of the founder${victim === null ? '' : ` and ${victim.name}`} at ${nowS()}`);
      });
      queue.push(clock.now() + 1100, async () => {
        if (target.gossip.roster.revoked.has(target.pubkey) || spare >= total) return; // it knows: it stops
        const stale = await signAdmit(target.signer, fields(spare++, nowS()));
        sign([stale]);
        const o = target.gossip.addRows([stale]);
        dispatch(target, o.send);
        log(`sim: ${target.name}, revoked but unaware, admits ${stale.bolt_id} at ${stale.admitted_at}`);
        // A bolt beside it, as unaware, admits the revoked key again under a new bolt id:
        // a revocation must beat that admission on every bolt.
        const gT = group.get(target.pubkey) ?? 0;
        const friend = pick((b) => b !== target && b !== revoker && truthLive(b) && liveNow(b) && !b.gossip.roster.revoked.has(target.pubkey) && (group.get(b.pubkey) ?? 0) === gT);
        if (friend === null) return;
        const again = await signAdmit(friend.signer, { ...fields(target.index, nowS()), bolt_id: `${target.name}-again` });
        sign([again]);
        const o2 = friend.gossip.addRows([again]);
        checkRevocations(friend);
        dispatch(friend, o2.send);
        readmissions++;
        log(`sim: ${friend.name}, unaware, admits ${target.name}'s revoked key again as ${again.bolt_id} at ${again.admitted_at}`);
      });
    });
  }
  // Joins: a live bolt admits a new bolt and records the invite it consumed; the new bolt
  // starts from the admitter's roster (what `bolt join` hands it).
  for (let k = 0; k < nJoins; k++) {
    const idx = n + k;
    queue.push(eventAt(k), async () => {
      const admitter = pick((b) => truthLive(b) && liveNow(b));
      if (admitter === null) return;
      const row = await signAdmit(admitter.signer, fields(idx, nowS()));
      const inv = await signInviteConsumed(admitter.signer, { spanner_id: ctx.spannerId, token_hash: pubkeyHex(seededRng(`${String(opts.seed)}/invite/${k}`).bytes(32)), consumed_at: nowS() });
      sign([row, inv]);
      joins++;
      const out = admitter.gossip.addRows([row, inv]);
      checkRevocations(admitter);
      dispatch(admitter, out.send);
      const joiner = addBolt(idx, admitter.gossip.roster);
      group.set(joiner.pubkey, group.get(admitter.pubkey) ?? 0);
      log(`sim: ${admitter.name} admits ${joiner.name} at ${row.admitted_at}`);
    });
  }

  // Convergence: every bolt live in the full roster holds its digest.
  const healAt = round(lastHeal);
  const giveUp = healAt + maxAfter * roundMs;
  let convergedAt: number | null = null;
  let bytesAtChaos = 0;
  let bytesAtHeal = 0;
  let bytesAtConverge = 0;
  // Rows that only a revoked bolt holds (it signed them after its revocation) never reach
  // the others, and need not: converged means the live bolts hold one roster (one digest)
  // whose live and revoked keys are those of the roster of every row ever signed.
  const sameKeys = (a: Iterable<Hex>, b: ReadonlySet<Hex> | ReadonlyMap<Hex, unknown>): boolean => {
    let count = 0;
    for (const k of a) {
      if (!b.has(k)) return false;
      count++;
    }
    return count === b.size;
  };
  const converged = (): boolean => {
    const live = bolts.filter(truthLive);
    const d = live[0]?.gossip.roster.digest;
    if (d === undefined || !live.every((b) => b.gossip.roster.digest === d)) return false;
    const s = live[0]!.gossip.roster;
    return sameKeys(liveKeys(s), liveKeys(truth)) && sameKeys(s.revoked.keys(), truth.revoked);
  };
  queue.push(round(3), () => {
    bytesAtChaos = bytesSent;
  });
  for (let t = healAt; t <= giveUp; t += roundMs / 20) {
    queue.push(t, () => {
      if (t === healAt) bytesAtHeal = bytesSent;
      if (convergedAt === null && converged()) {
        convergedAt = t;
        bytesAtConverge = bytesSent;
      }
    });
  }

  while (queue.size > 0) {
    const e = queue.pop()!;
    if (e.at > giveUp || (convergedAt !== null && e.at > convergedAt)) break;
    if (e.at > clock.now()) clock.set(e.at);
    await e.run();
  }

  const refusedAfterRevocation = [...truth.refusedRows.values()].filter((r) => r.code === 'E_SIGNER_REVOKED').length;
  const refusedReadmissions = [...truth.refusedRows.values()].filter((r) => r.code === 'E_REVOKED').length;
  const refusedRevenge = [...revengeIds].filter((id) => truth.refusedRows.has(id)).length;
  const boltsAtEnd = bolts.length;
  const perBoltRound = (bytes: number, rounds: number): number => (rounds > 0 ? Math.round(bytes / boltsAtEnd / rounds) : 0);
  const endAt: number = convergedAt ?? giveUp;
  return {
    seed: opts.seed,
    bolts: n,
    boltsAtEnd,
    liveAtEnd: bolts.filter(truthLive).length,
    converged: convergedAt !== null,
    roundsToConverge: convergedAt === null ? null : (convergedAt - healAt) / roundMs,
    lastHealRound: lastHeal,
    revocationsUndone,
    refusedAfterRevocation,
    readmissions,
    refusedReadmissions,
    revengeRevocations,
    refusedRevenge,
    revengeCounted: revengeSeen.size,
    revocations,
    joins,
    messages,
    lost,
    bytes: {
      steady: Math.round(bytesAtChaos / n / 3),
      chaos: perBoltRound(bytesAtHeal - bytesAtChaos, lastHeal - 3),
      afterHeal: perBoltRound((convergedAt === null ? bytesSent : bytesAtConverge) - bytesAtHeal, Math.max(1, (endAt - healAt) / roundMs)),
    },
    digest: convergedAt === null ? null : (bolts.find(truthLive)?.gossip.roster.digest ?? null),
  };
}
