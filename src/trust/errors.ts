/**
 * The trust core's typed errors. Every verifier rule has exactly one code; the names of
 * the first 23 are fixed by CONTRACTS.md §1 (other branches and the conformance vectors
 * match on them). The input-helper codes (E_BAD_*) are thrown by parsers of operator
 * input, never returned by a verifier.
 */
import { VigoError } from '../platform/errors.js';

/** Every code a verifier (verifyChain, verifyRevoke, verifyLeave, admitRevoke, the decoders) can return. */
export const TRUST_ERROR_CODES = [
  'E_MALFORMED',
  'E_OVERSIZE',
  'E_NON_CANONICAL',
  'E_EMPTY_CHAIN',
  'E_CHAIN_TOO_LONG',
  'E_BAD_SIGNATURE',
  'E_WRONG_PROJECT',
  'E_ROOT_NOT_BOOTSTRAP',
  'E_ROOT_NOT_FOUNDER',
  'E_PARENT_MISMATCH',
  'E_ISSUER_NOT_PARENT_SUBJECT',
  'E_NOT_ADMIN_MINT',
  'E_ROLE_ESCALATION',
  'E_NOT_YET_VALID',
  'E_EXPIRED',
  'E_OUTLIVES_PARENT',
  'E_REVOKED',
  'E_PRESENTER_MISMATCH',
  'E_DELEGATION_SIGNATURE',
  'E_DELEGATION_ORDER',
  'E_DELEGATION_WINDOW',
  'E_DELEGATION_CAP',
  'E_TOMBSTONED',
  // added by the trust branch (see docs/trust.md)
  'E_NOT_ADMIN',
  'E_REVOKE_ANCESTOR',
  // issue 8: leaves carry the leaver's chain; revokes by revoked admins do not stand
  'E_LEAVE_NOT_LEAF',
  'E_LEAVE_ROOT',
  'E_LEFT',
  'E_REVOKER_REVOKED',
] as const;

/** Codes thrown by the parsers of operator input (flags, files), not by a verifier. */
export const TRUST_INPUT_ERROR_CODES = ['E_BAD_PUBKEY', 'E_BAD_HANDLE', 'E_BAD_NAME', 'E_BAD_EXPIRES'] as const;

export type TrustVerifyCode = (typeof TRUST_ERROR_CODES)[number];
export type TrustErrorCode = TrustVerifyCode | (typeof TRUST_INPUT_ERROR_CODES)[number];

const HINTS: Partial<Record<TrustErrorCode, string>> = {
  E_EXPIRED: 'ask an admin of the project for a fresh invitation',
  E_REVOKED: 'this access was revoked; ask an admin of the project for a new invitation',
  E_PRESENTER_MISMATCH: 'the chain was issued to another puddle; use the invitation minted for your puddle pubkey',
  E_LEFT: 'this token was given up by a LEAVE; ask an admin of the project for a new invitation',
  E_LEAVE_ROOT: 'a founder cannot leave its own project; to end it, run `vigo swarm gitback project re-found` (or just remove your local state)',
  E_REVOKER_REVOKED: 'the signing admin had itself been revoked when it signed; ask an admin in good standing to revoke',
  E_TOMBSTONED: 'the project was re-founded; use the new project id (see `vigo swarm gitback project status`)',
  E_DELEGATION_CAP: 'the delegation chain is at its cap; run `vigo swarm gitback project re-found`',
  E_BAD_PUBKEY: 'a puddle pubkey is 64 hex characters, optionally prefixed `ed25519:` (see `vigo swarm puddle pubkey`)',
  E_BAD_HANDLE: 'a handle is 1–64 characters of A–Z a–z 0–9 . _ -, not starting with a dot and not a 64-hex id',
  E_BAD_NAME: 'a name is 1–64 characters of A–Z a–z 0–9 . _ -, not starting with a dot and not a 64-hex id',
  E_BAD_EXPIRES: 'give a whole number of days, e.g. `--expires 30d` or `--expires 30`',
};

export class TrustError extends VigoError {
  declare readonly code: TrustErrorCode;

  constructor(code: TrustErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    const hint = opts.hint ?? HINTS[code];
    super(code, message, { ...(hint === undefined ? {} : { hint }), ...(opts.cause === undefined ? {} : { cause: opts.cause }) });
    this.name = 'TrustError';
  }
}

export function isTrustError(e: unknown): e is TrustError {
  return e instanceof TrustError;
}
