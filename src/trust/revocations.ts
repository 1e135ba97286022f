/**
 * The effective revocation set of a project: which revokes and leaves are in force, as a
 * pure function of the SET of envelopes held — never of the order they arrived in, since
 * gossip delivers them in any order (docs/trust.md, "The revocation set").
 *
 * A revoke stands iff its signer's chain was in good standing at the revoke's issued_at:
 * no token of the signer's chain is named by a standing revoke dated strictly before it
 * (and no earlier than that token itself: a revoke cannot name a token before it exists),
 * and the signer had not given up its own leaf token by an earlier LEAVE. Revokes are
 * judged in issued_at order, each against the ones already standing, and revokes dated in
 * the same second never affect each other (so a cycle in one second revokes both sides).
 */
import { TrustError, type TrustVerifyCode } from './errors.js';
import type { Hex } from './hex.js';
import { canonicalize, sha256Hex, withoutSig } from './canonical.js';
import { tokenCanonical, type Token } from './token.js';
import { verifyLeave, verifyRevoke, type EnvelopeVerifyOptions, type LeaveEnvelope, type RevokeEnvelope } from './envelopes.js';
import { CLOCK_SKEW_S } from './verify.js';

export interface Refusal {
  /** the envelope id, or `not-an-object` for input that is not one */
  id: string;
  kind: 'revoke' | 'leave';
  code: TrustVerifyCode;
  message: string;
}

export interface RevocationSet {
  /** token id → reason of the earliest standing revoke naming it (verifyChain's `revoked`) */
  revoked: Map<Hex, string | null>;
  /** token id → issued_at of the latest standing revoke naming it (verifyChain's `revokedAt`) */
  revokedAt: Map<Hex, number>;
  /** token id → reason, from verified leaves (verifyChain's `left`: refused only as a leaf) */
  left: Map<Hex, string | null>;
  /** ids of the revokes that stand, in (issued_at, id) order */
  standing: Hex[];
  /** ids of the leaves in force, sorted */
  leaves: Hex[];
  /** envelopes that do not take effect, with the code (sorted by id) */
  refused: Refusal[];
  /** @internal token id → issued_at of every standing revoke naming it, ascending */
  readonly times: Map<Hex, number[]>;
  /** @internal token id → the earliest leave of it */
  readonly leftAt: Map<Hex, number>;
}

const tokenIds = new WeakMap<Token, { sig: Hex; id: Hex }>();
const envelopeIds = new WeakMap<RevokeEnvelope | LeaveEnvelope, { sig: Hex; id: Hex }>();
// Ids are pure functions of the objects; the same verified objects are resolved again on
// every connection, so they are remembered per object (verified envelopes are not mutated).
const tokenIdOf = (t: Token): Hex => {
  const hit = tokenIds.get(t);
  if (hit !== undefined && hit.sig === t.sig) return hit.id;
  const id = sha256Hex(tokenCanonical(t));
  tokenIds.set(t, { sig: t.sig, id });
  return id;
};
const idOf = (e: RevokeEnvelope | LeaveEnvelope): Hex => {
  const hit = envelopeIds.get(e);
  if (hit !== undefined && hit.sig === e.sig) return hit.id;
  const id = sha256Hex(canonicalize(withoutSig(e)));
  envelopeIds.set(e, { sig: e.sig, id });
  return id;
};

function reasonOf(r: RevokeEnvelope): string {
  return r.reason === null ? 'revoked by an admin' : `revoked by an admin: ${r.reason}`;
}

/**
 * Why `r` does not stand against `set` (null when it stands): a token of its signer's
 * chain revoked strictly before r.issued_at, or the signer's leaf left before it.
 */
function blocker(set: Pick<RevocationSet, 'times' | 'leftAt'>, r: RevokeEnvelope): string | null {
  for (let i = 0; i < r.signer_chain.length; i++) {
    const t = r.signer_chain[i]!;
    const id = tokenIdOf(t);
    for (const at of set.times.get(id) ?? []) {
      if (at >= r.issued_at) break;
      if (at + CLOCK_SKEW_S >= t.issued_at) {
        return `its signer's chain[${i}] (token ${id}) was revoked at ${at}, before this revoke was signed (${r.issued_at})`;
      }
    }
  }
  const leafId = tokenIdOf(r.signer_chain[r.signer_chain.length - 1]!);
  const leftAt = set.leftAt.get(leafId);
  if (leftAt !== undefined && leftAt < r.issued_at) return `its signer gave up its token ${leafId} by a LEAVE at ${leftAt}, before this revoke was signed (${r.issued_at})`;
  return null;
}

/**
 * The effective set from envelopes that each already verified for the project
 * (verifyRevoke / verifyLeave — this function checks no signatures). Duplicates count once.
 * The result depends only on the set of envelopes, not on their order.
 */
export function resolveRevocations(revokes: readonly RevokeEnvelope[], leaves: readonly LeaveEnvelope[]): RevocationSet {
  const set: RevocationSet = { revoked: new Map(), revokedAt: new Map(), left: new Map(), standing: [], leaves: [], refused: [], times: new Map(), leftAt: new Map() };
  const byLeave = new Map<Hex, LeaveEnvelope>();
  for (const l of leaves) byLeave.set(idOf(l), l);
  for (const [id, l] of [...byLeave].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    set.leaves.push(id);
    set.left.set(l.token_id, 'its holder left the project');
    const prev = set.leftAt.get(l.token_id);
    if (prev === undefined || l.issued_at < prev) set.leftAt.set(l.token_id, l.issued_at);
  }
  const byRevoke = new Map<Hex, RevokeEnvelope>();
  for (const r of revokes) byRevoke.set(idOf(r), r);
  const ordered = [...byRevoke].sort((a, b) => a[1].issued_at - b[1].issued_at || (a[0] < b[0] ? -1 : 1));
  for (let i = 0; i < ordered.length; ) {
    // one second at a time: revokes of the same second are judged against earlier ones only
    let j = i;
    while (j < ordered.length && ordered[j]![1].issued_at === ordered[i]![1].issued_at) j++;
    const stand: [Hex, RevokeEnvelope][] = [];
    for (const [id, r] of ordered.slice(i, j)) {
      const why = blocker(set, r);
      if (why === null) stand.push([id, r]);
      else set.refused.push({ id, kind: 'revoke', code: 'E_REVOKER_REVOKED', message: `revoke ${id} does not stand: ${why}` });
    }
    for (const [id, r] of stand) {
      set.standing.push(id);
      if (!set.revoked.has(r.token_id)) set.revoked.set(r.token_id, reasonOf(r));
      set.revokedAt.set(r.token_id, Math.max(set.revokedAt.get(r.token_id) ?? 0, r.issued_at));
      const ts = set.times.get(r.token_id) ?? [];
      ts.push(r.issued_at); // groups come in ascending time, so the list stays sorted
      set.times.set(r.token_id, ts);
    }
    i = j;
  }
  set.refused.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return set;
}

/**
 * Admission of one revoke (at sweep, and at ingest from a peer): it verifies on its own
 * (verifyRevoke) and it would stand given what is already held. Adding it never changes
 * whether it stands (only strictly earlier revokes decide that), so this agrees with
 * resolveRevocations(held ∪ {it}). Throws E_REVOKER_REVOKED when its signer stood revoked.
 */
export function admitRevoke(env: unknown, projectId: Hex, now: number, held: RevocationSet, opts: EnvelopeVerifyOptions = {}): RevokeEnvelope {
  const r = verifyRevoke(env, projectId, now, opts);
  const why = blocker(held, r);
  if (why !== null) throw new TrustError('E_REVOKER_REVOKED', `revoke of token ${r.token_id} refused: ${why}`);
  return r;
}

/**
 * The effective set from raw envelopes (e.g. a peer's `all`): each is verified first —
 * those that do not verify are refused with their code — then resolved.
 */
export function effectiveRevocations(projectId: Hex, now: number, revokes: readonly unknown[], leaves: readonly unknown[], opts: EnvelopeVerifyOptions = {}): RevocationSet {
  const refused: Refusal[] = [];
  const verify = <T extends RevokeEnvelope | LeaveEnvelope>(list: readonly unknown[], kind: 'revoke' | 'leave', f: (e: unknown) => T): T[] => {
    const out: T[] = [];
    list.forEach((e) => {
      try {
        out.push(f(e));
      } catch (err) {
        if (!(err instanceof TrustError)) throw err;
        let id = 'not-an-object';
        try {
          id = sha256Hex(canonicalize(withoutSig(e as object)));
        } catch {
          /* not canonicalizable: no id to give */
        }
        refused.push({ id, kind, code: err.code as TrustVerifyCode, message: err.message });
      }
    });
    return out;
  };
  const set = resolveRevocations(
    verify(revokes, 'revoke', (e) => verifyRevoke(e, projectId, now, opts)),
    verify(leaves, 'leave', (e) => verifyLeave(e, projectId, now, opts)),
  );
  set.refused.push(...refused);
  set.refused.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  return set;
}
