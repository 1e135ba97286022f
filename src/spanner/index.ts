/**
 * The spanner's public surface: the admissions roster (signed rows, the CRDT merge, the
 * digest), its gossip between bolts, and its stores. Other subsystems import only this.
 * Formats: docs/wire-formats.md "Spanner roster". Model and decisions: docs/spanner.md.
 */
export {
  ADMIT_KIND,
  REVOKE_KIND,
  INVITE_CONSUMED_KIND,
  ROW_KINDS,
  ROSTER_CODES,
  RosterError,
  MAX_PATTERNS,
  MAX_PATTERN_LEN,
  MAX_CA_PEM_LEN,
  MAX_REASON_LEN,
  MAX_GOSSIP_MESSAGE_BYTES,
  DIGEST_BUCKETS,
  parseRosterRow,
  parseGossipMessage,
  gossipMessageBytes,
  rowId,
  rowSigner,
  rowTime,
  signAdmit,
  signRevoke,
  signInviteConsumed,
  verifyRow,
} from '../wire/spanner-roster.js';
export type {
  AdmitRow,
  RevokeRow,
  InviteConsumedRow,
  RosterRow,
  RowKind,
  AdmitFields,
  RevokeFields,
  InviteConsumedFields,
  RosterCode,
  RosterContext,
  RowCheck,
  GossipMessage,
  DigestMessage,
  PullMessage,
  RowsMessage,
} from '../wire/spanner-roster.js';

export { emptyRoster, mergeRows, rosterDigest, liveBolts, isBoltLive, rosterBolts, isInviteConsumed, rosterSnapshot, MAX_ROSTER_ROWS, MAX_PENDING_ROWS } from './roster.js';
export type { RosterState, BoltEntry, Refusal, MergeResult } from './roster.js';

export { RosterGossip, DEFAULT_FANOUT, DEFAULT_ROUND_MS } from './gossip.js';
export type { GossipOptions, GossipOutput, Outgoing, GossipCounters } from './gossip.js';

export { memoryRosterStore, openSqliteRosterStore } from './store.js';
export type { RosterStore } from './store.js';

export { Bolt, SPANNER_STATUS, DEFAULT_INVITE_TTL_S, MAX_INVITE_TTL_S, rosterDbPath } from './service.js';
export type { BoltOptions, BoltView, BoltHealth, BoltStacks, LocalStats, SpannerStatus } from './service.js';
export { BOLT_KEY_WRAP_DOMAIN, boltKeyFile, loadOrCreateBoltIdentity } from './identity.js';
export type { BoltIdentity, KeyWrap } from './identity.js';
export { parseBundle, tokenHash, BUNDLE_PREFIX } from './service-invite.js';
export type { Invite, JoinRequest } from './service-invite.js';
export { ADMIT_PATH, GOSSIP_PATH, STATS_PATH, CLOCK_SKEW_S, checkPeerRequest, peerCall } from './client.js';
export { spannerSection, defaultSpannerConfig } from './config.js';
export type { SpannerConfig } from './config.js';
export { routeHostname, trustBundle } from './routing.js';
export type { HostMatcher } from './routing.js';
export { PEER_ENROLL_PATH, PEER_ACCEPT_PATH, PEER_DRAIN_PATH, PEER_REVOKED_PATH, MOVE_RUNS_MAX_BYTES, PEER_ACCEPT_BODY_LIMIT } from './move.js';
export type { EnrollAnswer, EnvoyHandover, AcceptAnswer, MovedEnvoy, DrainResult } from './move.js';
export { FORWARD_HEADERS, FORWARD_CODES, FORWARD_KIND, FORWARD_TIMEOUT_MS, MAX_FORWARD_BODY_BYTES, MAX_FORWARD_ANSWER_BYTES, ANSWERED_BY_HEADER, FORWARD_MS_HEADER, NonceCache, isForwarded, signForward, checkForward, forwardCall, bodySha256 } from './forward.js';
export type { ForwardedAdmin, ForwardCheck, ForwardCode } from './forward.js';
export type { Peer } from './client.js';
