/**
 * The trust core's public surface (CONTRACTS.md §1): keys, canonical bytes, ids, tokens,
 * delegations, envelopes, invitations, push chains and the verifier. No I/O anywhere in
 * src/trust/; time and randomness come in as parameters (nonces may be fixed via options).
 * Formats: docs/wire-formats.md. Rules and decisions: docs/trust.md.
 */
export { TrustError, isTrustError, TRUST_ERROR_CODES, TRUST_INPUT_ERROR_CODES } from './errors.js';
export type { TrustErrorCode, TrustVerifyCode } from './errors.js';

export { toHex, fromHex, isHex64, preview } from './hex.js';
export type { Hex } from './hex.js';
export { generateKeyPair, publicKeyFromSeed, parsePublicKey, formatPublicKey, pubkeyHex, signRaw, verifyRaw, seedSigner } from './keys.js';
export type { Signer } from './keys.js';

export { canonicalize, canonicalBytes, sha256Hex } from './canonical.js';
export { parseStrictJson, parseCanonicalJson, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH } from './json.js';
export type { StrictJsonOptions } from './json.js';
export { signingMessage, domainTag } from './domain.js';
export type { Kind } from './domain.js';

export { projectId, validateHandle, validateName, isValidHandle, parseExpires, SECONDS_PER_DAY } from './names.js';

export { tokenId, checkToken, mintBootstrapToken, mintChildToken, MAX_CHAIN_LEN } from './token.js';
export type { Role, Token, TokenChain, MintOptions, BootstrapOptions } from './token.js';

export { DELEGATION_MAX_LEN, DELEGATION_WARN_LEN, mintDelegation, currentFounder, delegationId, checkDelegation } from './delegation.js';
export type { Delegation } from './delegation.js';

export {
  mintRevoke,
  mintLeave,
  verifyRevoke,
  verifyLeave,
  envelopeId,
  mintNameClaim,
  verifyNameClaim,
  checkRevoke,
  checkLeave,
  checkNameClaim,
  MAX_REASON_LEN,
} from './envelopes.js';
export type { RevokeEnvelope, LeaveEnvelope, NameClaim, EnvelopeVerifyOptions } from './envelopes.js';

export { resolveRevocations, admitRevoke, effectiveRevocations } from './revocations.js';
export type { RevocationSet, Refusal } from './revocations.js';

export {
  parseInvitation,
  formatInvitation,
  checkInvitation,
  verifyInvitation,
  encodePushChainHeader,
  decodePushChainHeader,
  verifyPushChainHeader,
  parseSignedJson,
  MAX_PUSH_CHAIN_HEADER,
} from './invitation.js';
export type { ProjectInfo, Invitation, PushChain, Scope } from './invitation.js';

export { verifyChain, verifyChainOrThrow, VerifyCache, CLOCK_SKEW_S } from './verify.js';
export type { VerifyInput, VerifyResult } from './verify.js';
