/**
 * The swarm's public surface (issue 9 item 1): the announce codec, the peer table, the
 * signed ref-update manifest and the replication state machine. The transport
 * (src/swarm/transport*.ts) and the agent drive these over real sockets and git.
 */
export {
  ANNOUNCE_REFUSAL_CODES,
  DEFAULT_PEER_PORT,
  MAX_ANNOUNCE_DATAGRAM,
  MAX_ANNOUNCE_LINE,
  MAX_ANNOUNCE_LINES,
  encodeAnnounceDatagrams,
  encodeAnnounceLine,
  isAnnounceHost,
  parseAnnounceDatagram,
  parseAnnounceLine,
} from '../wire/gitback-announce.js';
export type { Announce, AnnounceLineResult, AnnounceRefusal, AnnounceRefusalCode, EnvoyAnnounce, ParsedDatagram, ProjectAnnounce } from '../wire/gitback-announce.js';

export {
  MANIFEST_KIND,
  MANIFEST_REFUSAL_CODES,
  MAX_MANIFEST_BYTES,
  MAX_MANIFEST_REFS,
  ManifestError,
  checkBundleRefs,
  checkManifest,
  isRefName,
  manifestId,
  manifestSigningMessage,
  manifestText,
  parseManifest,
  signManifest,
  verifyManifest,
} from '../wire/gitback-manifest.js';
export type { Manifest, ManifestRefusalCode, ManifestVerdict, ManifestVerifyContext, RefUpdate, UnsignedManifest } from '../wire/gitback-manifest.js';

export { DEFAULT_ANNOUNCE_INTERVAL_MS, DEFAULT_PEER_TTL_MS, MAX_ENVOYS, MAX_HINTS_PER_PROJECT, MAX_PEERS_PER_PROJECT, MAX_PROJECTS, ProjectPeers, parseHostPort, peerKey } from './peers.js';
export type { HintEntry, ObserveResult, Peer, PeerKey, PeerSource } from './peers.js';
export { hintEntries, PeerHintsReader } from './peer-hints.js';

export { MAX_APPLIED_IDS, MemoryReplicaStore, streamOf, tipsOf } from './store.js';
export type { ProjectMeta, RefState, ReplicaStore, SignedUpdate, Tips } from './store.js';

export { DEFAULT_REPLICATION_CONFIG, REPLICATION_REFUSAL_CODES, ReplicationMachine } from './replication.js';
export type {
  Answer,
  FetchBundle,
  ReceiveResult,
  RefRefusal,
  RefusalCode,
  ReplicationConfig,
  ReplicationOutput,
  ReplicationRefusalCode,
  SendBundle,
  ServeResult,
  Step,
  UpdateVerifier,
} from './replication.js';

export { updateVerifier } from './verifier.js';
export type { ProjectTrustView } from './verifier.js';

export { DEFAULT_SWARM_LIMITS, DEFAULT_SWARM_PORT, SwarmError, SwarmTransport } from './transport.js';
export type { RouteLimits, SwarmHandler, SwarmIdentity, SwarmLimits, SwarmPeer, SwarmRequest, SwarmResponse, SwarmTransportOptions, SwarmTransportStats } from './transport.js';
export { DEFAULT_MAX_RESPONSE_BYTES, replyJson, swarmCall } from './transport-client.js';
export type { SwarmCall, SwarmReply } from './transport-client.js';
export { PeerCertError, envoyIdOf, verifyEnvoyCertificate } from './transport-identity.js';

export { DEFAULT_CALL_DEADLINE_MS, DEFAULT_PUSH_BODY_LIMIT, MAX_HEAD_BYTES, SwarmNode } from './node.js';
export type { SwarmNodeOptions } from './node.js';
export { DiskReplicaStore } from './replica-disk.js';
export type { DiskReplicaStoreOptions } from './replica-disk.js';
export { ANNOUNCED_CACHE_FILE, Announcer, DEFAULT_ANNOUNCE_GROUP, DEFAULT_ANNOUNCE_PORT } from './announcer.js';
export type { AnnouncerCounters, AnnouncerOptions } from './announcer.js';
export { MAX_HAVE_CHARS } from './node.js';
export { SwarmService, parseSwarmSection } from './service.js';
export type { SwarmSection, SwarmServiceOptions } from './service.js';
export { SwarmReplicator } from './replicator.js';
export { MAX_TRACKED_PUSHES, ReplicaAcks } from './replica-acks.js';
export type { ReplicaCount } from './replica-acks.js';
export { DEFAULT_ENVELOPE_GOSSIP_CONFIG, EnvelopeGossip, GOSSIP_REFUSAL_CODES, MAX_FLOOD_ENTRIES, MAX_PULL_VERIFY, gossipTrustView, inForce } from './envelope-gossip.js';
export { DEFAULT_GOSSIP_CALL_DEADLINE_MS, EnvelopeNode } from './envelope-node.js';
export type { EnvelopeNodeOptions } from './envelope-node.js';
export type { EnvelopeGossipConfig, EnvelopeGossipStore, GetDigest, GossipOutput, GossipReceive, GossipStep, PostEnvelopes, PullEnvelopes } from './envelope-gossip.js';
export {
  DIGEST_BUCKETS,
  DIGEST_DOMAIN,
  DIRECT_PULL_BELOW,
  ENVELOPE_GOSSIP_PREFIX,
  GossipWireError,
  MAX_ALL_BYTES,
  MAX_DIGEST_BYTES,
  MAX_POST_BYTES,
  MAX_POST_ENVELOPES,
  bucketOf,
  bucketQuery,
  computeDigest,
  differingBuckets,
  encodeEnvelopePost,
  gossipPath,
  parseAllAnswer,
  parseBucketQuery,
  parseDigest,
  parseEnvelopePost,
  parsePostAnswer,
} from '../wire/gitback-envelope-gossip.js';
export type { AllAnswer, DigestBucket, DigestEntry, EnvelopeDigest, EnvelopeKind, EnvelopePost, GossipRefusal, PostAnswer } from '../wire/gitback-envelope-gossip.js';
export { PAIR_REQUEST_TIMEOUT_MS, PairEndpoint } from './puddle-pair.js';
export type { PairEndpointOptions, PairUser } from './puddle-pair.js';
