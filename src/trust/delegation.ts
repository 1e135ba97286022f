/**
 * Founder-rekey delegations (ADR-019): a retired founder key hands the project's founder
 * authority to a new key. Signed by the retiring key over
 * `vigo/delegation/v1` ‖ 0x00 ‖ JCS(delegation without sig). A project carries at most
 * DELEGATION_MAX_LEN of them; from DELEGATION_WARN_LEN on, status warns.
 */
import { TrustError } from './errors.js';
import { toHex, type Hex } from './hex.js';
import { pubkeyHex, type Signer } from './keys.js';
import { messageFromCanonical } from './domain.js';
import { sha256Hex } from './canonical.js';
import { exactObject, hex64, literal, malformed, sigHex, uint } from './schema.js';

export const DELEGATION_MAX_LEN = 5;
export const DELEGATION_WARN_LEN = 3;

export interface Delegation {
  v: 1;
  kind: 'delegation';
  project_id: Hex;
  seq: number; // 1-based position in the project's delegation list
  prev_founder: Hex;
  new_founder: Hex;
  issued_at: number;
  sig: Hex;
}

const DELEGATION_KEYS = ['v', 'kind', 'project_id', 'seq', 'prev_founder', 'new_founder', 'issued_at', 'sig'] as const;

export function checkDelegation(v: unknown, path = 'delegation'): Delegation {
  const o = exactObject(v, path, DELEGATION_KEYS);
  const seq = uint(o.seq, path, 'seq');
  if (seq < 1) malformed(`${path}.seq`, 'positions start at 1');
  return {
    v: literal(o.v, path, 1, 'v'),
    kind: literal(o.kind, path, 'delegation', 'kind'),
    project_id: hex64(o.project_id, path, 'project_id'),
    seq,
    prev_founder: hex64(o.prev_founder, path, 'prev_founder'),
    new_founder: hex64(o.new_founder, path, 'new_founder'),
    issued_at: uint(o.issued_at, path, 'issued_at'),
    sig: sigHex(o.sig, path, 'sig'),
  };
}

/** RFC 8785 text of a checked delegation without `sig` (all fields are hex or integers). */
export function delegationCanonical(d: Omit<Delegation, 'sig'>): string {
  return (
    `{"issued_at":${String(d.issued_at)},"kind":"delegation","new_founder":"${d.new_founder}",` +
    `"prev_founder":"${d.prev_founder}","project_id":"${d.project_id}","seq":${String(d.seq)},"v":1}`
  );
}

export function delegationId(d: Delegation): Hex {
  return sha256Hex(delegationCanonical(checkDelegation(d)));
}

/**
 * Appends the next delegation: signed by the current founder, handing over to newFounder.
 * Refuses at the cap (E_DELEGATION_CAP: re-found instead), when the signer is not the
 * current founder, or when time would run backwards (E_DELEGATION_ORDER).
 */
export async function mintDelegation(
  prevFounder: Signer,
  projectIdHex: Hex,
  existing: Delegation[],
  newFounder: Uint8Array | Hex,
  now: number,
): Promise<Delegation> {
  const list = existing.map((d, i) => checkDelegation(d, `delegations[${i}]`));
  if (list.length >= DELEGATION_MAX_LEN) {
    throw new TrustError('E_DELEGATION_CAP', `the project already has ${list.length} delegations (at most ${DELEGATION_MAX_LEN})`);
  }
  const prev = pubkeyHex(prevFounder.publicKey);
  const next = pubkeyHex(newFounder);
  const last = list[list.length - 1];
  if (last !== undefined && last.new_founder !== prev) {
    throw new TrustError('E_DELEGATION_ORDER', `the signing key ${prev} is not the current founder (${last.new_founder})`);
  }
  if (last !== undefined && now < last.issued_at) {
    throw new TrustError('E_DELEGATION_ORDER', `now (${now}) is before the previous delegation (${last.issued_at})`);
  }
  if (next === prev || list.some((d) => d.prev_founder === next)) {
    throw new TrustError('E_DELEGATION_ORDER', `key ${next} has already been a founder of this project`);
  }
  const body: Omit<Delegation, 'sig'> = {
    v: 1,
    kind: 'delegation',
    project_id: hex64(projectIdHex, 'project_id'),
    seq: list.length + 1,
    prev_founder: prev,
    new_founder: next,
    issued_at: uint(now, 'now'),
  };
  const sig = await prevFounder.sign(messageFromCanonical('delegation', delegationCanonical(body)));
  return { ...body, sig: toHex(sig) };
}

/** The founder after the last delegation (no verification: use verifyChain for that). */
export function currentFounder(genesisFounder: Hex, delegations: Delegation[]): Hex {
  const last = delegations[delegations.length - 1];
  return last === undefined ? genesisFounder : last.new_founder;
}
