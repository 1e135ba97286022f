/**
 * The admissions roster as a CRDT (docs/spanner.md "The merge"). The state is a SET of
 * signature-checked rows; every decision (who is admitted, who is revoked, which rows
 * count) is one deterministic function of that set, recomputed on change. So a merge is
 * set union followed by that function: commutative, associative and idempotent by
 * construction, and the same rows give the same state and digest on every bolt.
 *
 * Three strata, each computed from the one before, so that no decision is circular:
 *   1. admitted-ever: the keys reachable from the founder's self-admit through admit rows
 *      whose signer was admitted-ever at or before the row's time (revocations ignored).
 *      Monotone: more rows never remove a key.
 *   2. revocations: every held revoke row signed by the founder (the one revocation
 *      authority) of a key other than the founder's. Whether one counts depends on no other
 *      row, so more rows never undo a revocation, and a removed bolt's key revokes nobody.
 *   3. the live roster: admissions in (admitted_at, id) order, each needing its signer
 *      live at admitted_at (admitted at or before it, not revoked at or before it), its
 *      subject not revoked at or before it, and its key and bolt id not already pinned.
 *      Invite-consumed rows need their signer live at consumed_at.
 *
 * Pure: no clock, no I/O. Times are the unix seconds written in the rows.
 */
import { canonicalize, sha256Hex, type Hex } from '../trust/index.js';
import {
  ADMIT_KIND,
  INVITE_CONSUMED_KIND,
  REVOKE_KIND,
  rowSigner,
  rowTime,
  verifyRow,
  type AdmitRow,
  type InviteConsumedRow,
  type RevokeRow,
  type RosterCode,
  type RosterContext,
  type RosterRow,
} from '../wire/spanner-roster.js';

/** Rows held (digested, gossiped, stored) at most; a row past it is refused E_ROSTER_FULL. */
export const MAX_ROSTER_ROWS = 16_384;
/** Rows kept aside (signer not yet known) at most. */
export const MAX_PENDING_ROWS = 1_024;

const DIGEST_TAG = 'vigo/spanner-roster-digest/v1\u0000';

export interface BoltEntry {
  bolt_id: string;
  pubkey: Hex;
  admit: AdmitRow;
  /** the effective revocation with the earliest (revoked_at, id), or null */
  revoked: RevokeRow | null;
}

export interface Refusal {
  row: unknown;
  code: RosterCode;
  message: string;
}

export interface RosterState {
  /** rows whose signer was admitted-ever at their time: these are digested, gossiped and stored */
  readonly held: ReadonlyMap<Hex, RosterRow>;
  /** signature-valid rows whose signer this roster has not seen admitted (yet): kept aside, not gossiped */
  readonly pending: ReadonlyMap<Hex, RosterRow>;
  /** the founder's self-admit, once held */
  readonly root: AdmitRow | null;
  /** effective admissions by pubkey */
  readonly bolts: ReadonlyMap<Hex, BoltEntry>;
  /** effective revocations by revoked pubkey (earliest), including keys never admitted */
  readonly revoked: ReadonlyMap<Hex, RevokeRow>;
  /** consumed invite token hashes → the effective rows that consumed them */
  readonly consumed: ReadonlyMap<Hex, readonly InviteConsumedRow[]>;
  /** held or pending rows that do not count, by row id, with why */
  readonly refusedRows: ReadonlyMap<Hex, { code: RosterCode; message: string }>;
  readonly digest: Hex;
}

export interface MergeResult {
  state: RosterState;
  /** rows that count now and did not before (incoming, or held rows a new row completed) */
  accepted: RosterRow[];
  /** incoming rows that do not count, and rows that counted before and no longer do */
  refused: Refusal[];
}

const EMPTY_DIGEST = digestOf([]);

export function emptyRoster(): RosterState {
  return { held: new Map(), pending: new Map(), root: null, bolts: new Map(), revoked: new Map(), consumed: new Map(), refusedRows: new Map(), digest: EMPTY_DIGEST };
}

function digestOf(sortedIds: readonly string[]): Hex {
  // JCS of an array of lowercase-hex strings is exactly this text (nothing to escape).
  return sha256Hex(sortedIds.length === 0 ? `${DIGEST_TAG}[]` : `${DIGEST_TAG}["${sortedIds.join('","')}"]`);
}

/** The digest as its definition reads (JCS of the sorted ids), for the tests to check digestOf against. */
export function digestByDefinition(sortedIds: readonly string[]): Hex {
  return sha256Hex(DIGEST_TAG + canonicalize(sortedIds));
}

/** The roster's digest: sha256 of `vigo/spanner-roster-digest/v1` ‖ 0x00 ‖ JCS(sorted ids of the held rows). */
export function rosterDigest(state: RosterState): Hex {
  return state.digest;
}

function byTimeThenId(a: [Hex, RosterRow], b: [Hex, RosterRow]): number {
  const d = rowTime(a[1]) - rowTime(b[1]);
  return d !== 0 ? d : a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

const short = (k: string): string => `${k.slice(0, 16)}…`;

/** True when `key` is live at `t`: admitted at or before t, and not revoked at or before t. */
function isLive(bolts: ReadonlyMap<Hex, BoltEntry>, revoked: ReadonlyMap<Hex, RevokeRow>, key: Hex, t: number): boolean {
  const b = bolts.get(key);
  if (b === undefined || b.admit.admitted_at > t) return false;
  const r = revoked.get(key);
  return r === undefined || r.revoked_at > t;
}

/** The whole decision, from the set of candidate rows (already signature-checked). */
function decide(candidates: Map<Hex, RosterRow>, ctx: RosterContext): Omit<RosterState, 'digest'> & { effective: Set<Hex> } {
  const sorted = [...candidates].sort(byTimeThenId);
  const admits = sorted.filter((e): e is [Hex, AdmitRow] => e[1].kind === ADMIT_KIND);

  // 1. admitted-ever: earliest time each key is reachable from the root.
  let root: [Hex, AdmitRow] | null = null;
  for (const e of admits) if (e[1].pubkey === ctx.founder && e[1].admitted_by === ctx.founder) { root = e; break; }
  const everAt = new Map<Hex, number>();
  if (root !== null) everAt.set(ctx.founder, root[1].admitted_at);
  for (let changed = root !== null; changed; ) {
    changed = false;
    for (const [, a] of admits) {
      const s = everAt.get(a.admitted_by);
      if (s === undefined || s > a.admitted_at) continue;
      const cur = everAt.get(a.pubkey);
      if (cur === undefined || a.admitted_at < cur) {
        everAt.set(a.pubkey, a.admitted_at);
        changed = true;
      }
    }
  }

  const held = new Map<Hex, RosterRow>();
  const pending = new Map<Hex, RosterRow>();
  const refusedRows = new Map<Hex, { code: RosterCode; message: string }>();
  for (const [id, row] of sorted) {
    const s = everAt.get(rowSigner(row));
    if (s !== undefined && s <= rowTime(row)) held.set(id, row);
    else {
      pending.set(id, row);
      refusedRows.set(id, {
        code: 'E_SIGNER_NOT_LIVE',
        message: `${row.kind} ${short(id)} is signed by ${short(rowSigner(row))}, which this roster has not seen admitted at or before ${rowTime(row)}; kept aside until its admission arrives`,
      });
    }
  }

  // 2. revocations: only the founder's count, and never of the founder; the earliest per key
  // is the one shown. No rule over the rows' own dates can tell a late honest revocation from
  // a backdated one, so a revocation by any live bolt gives either revenge (a removed bolt's
  // key revokes the others) or undone revocations (a backdated revocation of the revoker).
  const revoked = new Map<Hex, RevokeRow>();
  const effective = new Set<Hex>();
  for (const [id, row] of held) {
    if (row.kind !== REVOKE_KIND) continue;
    if (row.pubkey === ctx.founder) {
      refusedRows.set(id, {
        code: 'E_REVOKE_ROOT',
        message: `revoke ${short(id)} at ${row.revoked_at} by ${short(row.revoked_by)} names the founder ${short(ctx.founder)}, the spanner's root of trust, which cannot be revoked; if the hub's key is compromised, found a new spanner (\`vigocli spanner init\` with a new spanner_id) and re-join the bolts`,
      });
      continue;
    }
    if (row.revoked_by !== ctx.founder) {
      refusedRows.set(id, {
        code: 'E_REVOKE_NOT_FOUNDER',
        message: `revoke ${short(id)} of ${short(row.pubkey)} at ${row.revoked_at} is signed by ${short(row.revoked_by)}, not by the founder ${short(ctx.founder)}: only the hub revokes; run \`vigocli spanner bolt remove <bolt-id>\` on the hub`,
      });
      continue;
    }
    effective.add(id);
    if (!revoked.has(row.pubkey)) revoked.set(row.pubkey, row); // held is in (time, id) order: the first is the earliest
  }
  const revokedBy = (key: Hex, t: number): RevokeRow | null => {
    const r = revoked.get(key);
    return r !== undefined && r.revoked_at <= t ? r : null;
  };

  // 3. admissions, one second at a time; within a second, passes until nothing more is admitted.
  const bolts = new Map<Hex, BoltEntry>();
  const boltIds = new Map<string, Hex>();
  const admit = (id: Hex, a: AdmitRow): void => {
    bolts.set(a.pubkey, { bolt_id: a.bolt_id, pubkey: a.pubkey, admit: a, revoked: revoked.get(a.pubkey) ?? null });
    boltIds.set(a.bolt_id, a.pubkey);
    effective.add(id);
  };
  const heldAdmits = admits.filter(([id]) => held.has(id));
  let rootRow: AdmitRow | null = null;
  if (root !== null) {
    // The founder is never revoked (stratum 2), so its self-admit always counts.
    rootRow = root[1];
    admit(root[0], root[1]);
  }
  for (let i = 0; i < heldAdmits.length; ) {
    const t = heldAdmits[i]![1].admitted_at;
    let j = i;
    while (j < heldAdmits.length && heldAdmits[j]![1].admitted_at === t) j++;
    const open = heldAdmits.slice(i, j).filter(([id]) => !effective.has(id));
    for (let progress = true; progress; ) {
      progress = false;
      for (let k = 0; k < open.length; k++) {
        const [id, a] = open[k]!;
        let code: RosterCode | null = null;
        let message = '';
        const signerRevoked = revokedBy(a.admitted_by, t);
        const subjectRevoked = revokedBy(a.pubkey, t);
        if (signerRevoked !== null) {
          code = 'E_SIGNER_REVOKED';
          message = `admit of bolt ${a.bolt_id} at ${t}: its signer ${short(a.admitted_by)} was revoked at ${signerRevoked.revoked_at}`;
        } else if (subjectRevoked !== null) {
          code = 'E_REVOKED';
          message = `admit of bolt ${a.bolt_id} at ${t}: key ${short(a.pubkey)} was revoked at ${subjectRevoked.revoked_at}, and a revocation beats an admission`;
        } else if (!isLive(bolts, revoked, a.admitted_by, t)) {
          refusedRows.set(id, { code: 'E_SIGNER_NOT_LIVE', message: `admit of bolt ${a.bolt_id} at ${t}: its signer ${short(a.admitted_by)} was not a live bolt at ${t}` });
          continue; // may become live later in this second
        } else if (bolts.has(a.pubkey)) {
          code = 'E_KEY_PINNED';
          message = `admit of bolt ${a.bolt_id} at ${t}: key ${short(a.pubkey)} is already admitted as bolt ${bolts.get(a.pubkey)!.bolt_id}`;
        } else if (boltIds.has(a.bolt_id)) {
          code = 'E_KEY_PINNED';
          message = `admit of bolt ${a.bolt_id} at ${t} with key ${short(a.pubkey)}: bolt ${a.bolt_id} is pinned to key ${short(boltIds.get(a.bolt_id)!)}`;
        }
        if (code === null) {
          refusedRows.delete(id);
          admit(id, a);
          progress = true;
        } else refusedRows.set(id, { code, message });
        open.splice(k--, 1);
      }
    }
    i = j;
  }

  // invite-consumed rows: the signer live at consumed_at.
  const consumed = new Map<Hex, InviteConsumedRow[]>();
  for (const [id, row] of held) {
    if (row.kind !== INVITE_CONSUMED_KIND) continue;
    const r = revokedBy(row.consumed_by, row.consumed_at);
    if (r !== null) refusedRows.set(id, { code: 'E_SIGNER_REVOKED', message: `invite ${short(row.token_hash)} consumed at ${row.consumed_at} by ${short(row.consumed_by)}, revoked at ${r.revoked_at}` });
    else if (!isLive(bolts, revoked, row.consumed_by, row.consumed_at)) {
      refusedRows.set(id, { code: 'E_SIGNER_NOT_LIVE', message: `invite ${short(row.token_hash)} consumed at ${row.consumed_at} by ${short(row.consumed_by)}, not a live bolt then` });
    } else {
      effective.add(id);
      const list = consumed.get(row.token_hash);
      if (list === undefined) consumed.set(row.token_hash, [row]);
      else list.push(row);
    }
  }
  return { held, pending, root: rootRow, bolts, revoked, consumed, refusedRows, effective };
}

// Which row ids count in a state (the root, effective admits, revokes, consumed rows).
function effectiveIds(state: RosterState): Set<Hex> {
  const out = new Set<Hex>();
  for (const id of state.held.keys()) if (!state.refusedRows.has(id)) out.add(id);
  return out;
}

// Rows already held are most of what gossip delivers (it sends whole buckets). A row equal,
// member by member, to one held under the same signature is that row: no need to parse,
// canonicalize, hash and verify it again.
const sigIndexes = new WeakMap<RosterState, Map<string, Hex>>();
function sigIndex(state: RosterState): Map<string, Hex> {
  let ix = sigIndexes.get(state);
  if (ix === undefined) {
    ix = new Map();
    for (const m of [state.held, state.pending]) for (const [id, row] of m) ix.set(row.sig, id);
    sigIndexes.set(state, ix);
  }
  return ix;
}

function heldAlready(state: RosterState, index: Map<string, Hex>, v: unknown): Hex | null {
  if (typeof v !== 'object' || v === null) return null;
  const sig = (v as { sig?: unknown }).sig;
  if (typeof sig !== 'string') return null;
  const id = index.get(sig);
  if (id === undefined) return null;
  const row = (state.held.get(id) ?? state.pending.get(id)) as unknown as Record<string, unknown>;
  const other = v as Record<string, unknown>;
  const keys = Object.keys(row);
  if (Object.keys(other).length !== keys.length) return null;
  for (const k of keys) {
    const a = row[k];
    const b = other[k];
    if (Array.isArray(a)) {
      if (!Array.isArray(b) || b.length !== a.length || a.some((x, i) => x !== b[i])) return null;
    } else if (a !== b) return null;
  }
  return id;
}

/**
 * Merges rows (as received: unknown, checked here) into a state. Returns the new state,
 * the rows that now count and did not before, and every refusal with its code: incoming
 * rows that do not count, and rows that counted before this merge and no longer do (a
 * revocation arriving after rows its subject signed later than it).
 */
export function mergeRows(state: RosterState, rows: readonly unknown[], ctx: RosterContext): MergeResult {
  const refused: Refusal[] = [];
  const incoming = new Map<Hex, RosterRow>();
  const index = sigIndex(state);
  for (const v of rows) {
    const known = heldAlready(state, index, v);
    if (known !== null) {
      const why = state.refusedRows.get(known);
      if (why !== undefined) refused.push({ row: v, ...why });
      continue;
    }
    const c = verifyRow(v, ctx);
    if (!c.ok) refused.push({ row: v, code: c.code, message: c.message });
    else if (!state.held.has(c.id) && !state.pending.has(c.id)) incoming.set(c.id, c.row);
    else if (state.refusedRows.has(c.id)) refused.push({ row: c.row, ...state.refusedRows.get(c.id)! });
  }
  if (incoming.size === 0) return { state, accepted: [], refused };

  const candidates = new Map<Hex, RosterRow>([...state.held, ...state.pending, ...incoming]);
  let next = decide(candidates, ctx);
  // Bounds: past them, the newest incoming rows are refused (only then does order matter).
  if (next.held.size > MAX_ROSTER_ROWS || next.pending.size > MAX_PENDING_ROWS) {
    const over = [...incoming].sort(byTimeThenId).reverse();
    let held = next.held.size - MAX_ROSTER_ROWS;
    let pending = next.pending.size - MAX_PENDING_ROWS;
    for (const [id, row] of over) {
      const inHeld = next.held.has(id);
      if ((inHeld && held > 0) || (!inHeld && pending > 0)) {
        candidates.delete(id);
        incoming.delete(id);
        if (inHeld) held--;
        else pending--;
        refused.push({ row, code: 'E_ROSTER_FULL', message: `the roster holds ${inHeld ? `${MAX_ROSTER_ROWS} rows` : `${MAX_PENDING_ROWS} rows of unknown signers`}; ${row.kind} ${short(id)} was not taken` });
      }
    }
    next = decide(candidates, ctx);
  }
  const ids = [...next.held.keys()].sort();
  const { effective, ...rest } = next;
  const out: RosterState = { ...rest, digest: ids.length === 0 ? EMPTY_DIGEST : digestOf(ids) };

  const before = effectiveIds(state);
  const accepted: RosterRow[] = [];
  for (const id of effective) if (!before.has(id)) accepted.push(next.held.get(id)!);
  for (const [id, row] of incoming) {
    const why = out.refusedRows.get(id);
    if (why !== undefined) refused.push({ row, ...why });
  }
  for (const id of before) {
    const why = out.refusedRows.get(id);
    if (why !== undefined) refused.push({ row: state.held.get(id), ...why });
  }
  return { state: out, accepted, refused };
}

/** The bolts live at `at` (unix seconds), by bolt id. */
export function liveBolts(state: RosterState, at: number): BoltEntry[] {
  const out: BoltEntry[] = [];
  for (const b of state.bolts.values()) if (isLive(state.bolts, state.revoked, b.pubkey, at)) out.push(b);
  return out.sort((a, b) => (a.bolt_id < b.bolt_id ? -1 : a.bolt_id > b.bolt_id ? 1 : 0));
}

/** Every admitted bolt with its status at `at`, by bolt id (what `bolt list` prints). */
export function rosterBolts(state: RosterState, at: number): (BoltEntry & { status: 'live' | 'revoked' | 'not-yet' })[] {
  return [...state.bolts.values()]
    .map((b) => ({ ...b, status: (isLive(state.bolts, state.revoked, b.pubkey, at) ? 'live' : b.admit.admitted_at > at ? 'not-yet' : 'revoked') as 'live' | 'revoked' | 'not-yet' }))
    .sort((a, b) => (a.bolt_id < b.bolt_id ? -1 : a.bolt_id > b.bolt_id ? 1 : 0));
}

/** True when `key` is live at `at` (unix seconds): admitted at or before it, not revoked at or before it. */
export function isBoltLive(state: RosterState, key: Hex, at: number): boolean {
  return isLive(state.bolts, state.revoked, key, at);
}

/** True when some live-signed row has consumed the invite whose token hashes to tokenHash. */
export function isInviteConsumed(state: RosterState, tokenHash: Hex): boolean {
  return state.consumed.has(tokenHash);
}

/** The held rows in (time, id) order: the signed snapshot a bolt hands to a peer or a joiner. */
export function rosterSnapshot(state: RosterState): RosterRow[] {
  return [...state.held.values()];
}
