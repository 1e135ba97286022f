/**
 * The ops-puddle's surface (docs/spanner.md "Ops-puddle", "The stacks project"): the
 * service-account puddle, the ops-puddle files and pairing, the helper on puddle.sock and
 * the stacks project. Separate from index.ts so vigocli and the REST route load it without
 * the roster, gossip and SQLite.
 */
export {
  SERVICE_PUDDLE_WRAP_DOMAIN,
  OPS_PUDDLE_WRAP_DOMAIN,
  PAIR_TTL_MS,
  MAX_PAIR_FAILURES,
  OPS_FILES,
  SERVICE_FILES,
  validateOpsName,
  readServicePubkey,
  opsStatus,
  requireOps,
  opsInit,
  opsPair,
  claimPair,
  decideClaim,
  newPendingPair,
  newPairCode,
  codeSha256,
  readPending,
  opsJoinPrepare,
  opsJoinWrite,
  openServicePuddle,
  openOpsSeed,
  signedMembers,
  mergeMembers,
} from './ops-puddle.js';
export type { OpsPuddleStatus, OpsWraps, PendingPair, ClaimDecision, ClaimRefusal } from './ops-puddle.js';
export { ensureOpsHelper, opsHelperStatus, opsSigner, requireOpsHelper, foundOpsProject, HELPER_TIMEOUT_MS } from './ops-helper-client.js';
export type { OpsHelperPaths } from './ops-helper-client.js';
export { runOpsHelper } from './ops-helper.js';
export { MEMBERS_PATH, MEMBERS_DOMAIN, parseMembersDoc, PAIR_CLAIM_PATH, parsePairClaimRequest, parsePairClaimAnswer, parseHelperRequest, parseHelperAnswer } from '../wire/ops-puddle.js';
export type { MembersDoc, PairClaimRequest, PairClaimAnswer, HelperRequest, HelperAnswer } from '../wire/ops-puddle.js';
export { isPairCode } from '../wire/puddle-pair.js';
