/**
 * Domain separation. Every signature covers `vigo/<kind>/v1` ‖ 0x00 ‖ canonical bytes of
 * the object without its `sig`, so a signature made for one kind can never verify as
 * another, and (because every project-scoped body names its project_id) never in
 * another project. Ids are sha256 of the canonical bytes alone (no tag).
 */
import { TrustError } from './errors.js';
import { canonicalize, withoutSig } from './canonical.js';

export type Kind = 'token' | 'delegation' | 'revoke' | 'leave' | 'name-claim' | 'push-chain' | 'invitation' | string;

const KIND = /^[a-z][a-z0-9-]{0,31}$/;

const tags = new Map<string, string>();

/** `vigo/<kind>/v1` followed by a NUL byte, as a string (ASCII). */
export function domainTag(kind: Kind): string {
  let tag = tags.get(kind);
  if (tag === undefined) {
    if (typeof kind !== 'string' || !KIND.test(kind)) throw new TrustError('E_MALFORMED', `not a signed-object kind: ${JSON.stringify(kind)}`);
    tag = `vigo/${kind}/v1\u0000`;
    if (tags.size < 64) tags.set(kind, tag);
  }
  return tag;
}

/** The exact bytes an Ed25519 signature of this body covers. */
export function signingMessage(kind: Kind, body: object): Uint8Array {
  return messageFromCanonical(kind, canonicalize(withoutSig(body)));
}

/** Tag ‖ canonical text, for callers that already hold the canonical text. */
export function messageFromCanonical(kind: Kind, canonical: string): Uint8Array {
  return Buffer.from(domainTag(kind) + canonical, 'utf8');
}
