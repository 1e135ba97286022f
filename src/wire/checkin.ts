/**
 * The check-in wire protocol (gRPC, package vigo.checkin.v1), shared by vigosrv and the
 * agent. One bidirectional stream per envoy; the envoy's identity is its client
 * certificate (CN = envoy id), never a field in a message.
 *
 *   service Checkin { rpc Stream(stream AgentMessage) returns (stream ServerMessage); }
 *   AgentMessage  { seq; oneof kind { CheckIn checkin; Run run; Renew renew; } }
 *   ServerMessage { seq; oneof kind { Ack ack; Bundle bundle; RunAck run_ack; CheckInNow checkin_now; Renewed renewed;
 *                                     SwarmAssignment swarm; Moved moved; Trust trust; SwarmFleet fleet; } }
 *
 * A no-change check-in is answered with a bare Ack echoing the policy version. `Renew`
 * (a CSR for the envoy's own key) is answered with `Renewed` (a fresh client certificate,
 * or `error`). Renew/Renewed were added later with new field ids only: a server that does
 * not know them ignores the message and the envoy's request times out (it retries later).
 * `SwarmAssignment` (field 7, added later the same way) is sent unasked, seq 0, when a
 * stream opens: the swarm gates vigosrv resolved for this envoy's enrolled hostname
 * (src/wire/swarm-assignment.ts). An agent that does not know it ignores it (its seq
 * matches no request); a server that does not send it leaves the agent's last one standing.
 *
 * Spanner additions (new field ids only, 8 and 9, so older peers ignore them): CheckIn.trust_sha256
 * is the SHA-256 of the CA bundle the envoy trusts (its ca.crt); when it differs from the
 * bolt's, the bolt sends `Trust` (seq 0, unsolicited) with the bundle of every live roster
 * bolt's CA before it answers. A check-in from an envoy this bolt moved to another bolt
 * (reassign, drain) is answered with `Moved`: the new bolt's gRPC and REST addresses, a
 * client certificate for the envoy's own key signed by the new bolt's CA, and the bundle.
 *
 * Swarm fleet additions (issue 14, new field ids only; docs/wire-formats.md §22):
 * CheckIn.traits_sha256 (4) is the sha of the envoy's current traits; CheckIn.traits_json (5)
 * carries them (src/wire/swarm-fleet.ts) only when that sha differs from the one the server
 * last acknowledged, which Ack.traits_sha256 (3) echoes (NO_TRAITS_SHA when it holds none:
 * a server that lost them, or another bolt, gets them at the next check-in; '' from servers
 * that predate traits, to which the agent then sends only the sha). CheckIn.fleet_sha256 (6) is the sha of the name map
 * and peer hints the envoy holds (64 zeros: none); when it differs from what the server has
 * for this envoy, the server sends `SwarmFleet` (ServerMessage field 10, seq 0) before the
 * answer. Older agents send none of these fields ('') and are never sent SwarmFleet; older
 * servers ignore them and answer with no traits sha.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { checkAssignment, SWARM_GATES, type GateVerdict, type SwarmAssignment, type SwarmGate } from './swarm-assignment.js';

/** The protocol as protobuf JSON (the vectors in test/vectors/checkin-swarm.json encode with it). */
export const checkinDescriptor = {
  nested: {
    vigo: {
      nested: {
        checkin: {
          nested: {
            v1: {
              nested: {
                Checkin: {
                  methods: {
                    Stream: { requestType: 'AgentMessage', requestStream: true, responseType: 'ServerMessage', responseStream: true },
                  },
                },
                AgentMessage: {
                  oneofs: { kind: { oneof: ['checkin', 'run', 'renew'] } },
                  fields: { seq: { type: 'uint32', id: 1 }, checkin: { type: 'CheckIn', id: 2 }, run: { type: 'Run', id: 3 }, renew: { type: 'Renew', id: 4 } },
                },
                CheckIn: {
                  fields: {
                    policy_version: { type: 'uint32', id: 1 },
                    fingerprint: { type: 'string', id: 2 },
                    trust_sha256: { type: 'string', id: 3 },
                    traits_sha256: { type: 'string', id: 4 },
                    traits_json: { type: 'string', id: 5 },
                    fleet_sha256: { type: 'string', id: 6 },
                  },
                },
                Run: { fields: { run_id: { type: 'string', id: 1 }, report_json: { type: 'string', id: 2 } } },
                Renew: { fields: { csr: { type: 'string', id: 1 } } },
                ServerMessage: {
                  oneofs: { kind: { oneof: ['ack', 'bundle', 'run_ack', 'checkin_now', 'renewed', 'swarm', 'moved', 'trust', 'fleet'] } },
                  fields: {
                    seq: { type: 'uint32', id: 1 },
                    ack: { type: 'Ack', id: 2 },
                    bundle: { type: 'Bundle', id: 3 },
                    run_ack: { type: 'RunAck', id: 4 },
                    checkin_now: { type: 'CheckInNow', id: 5 },
                    renewed: { type: 'Renewed', id: 6 },
                    swarm: { type: 'SwarmAssignment', id: 7 },
                    moved: { type: 'Moved', id: 8 },
                    trust: { type: 'Trust', id: 9 },
                    fleet: { type: 'SwarmFleet', id: 10 },
                  },
                },
                Ack: { fields: { policy_version: { type: 'uint32', id: 1 }, interval_s: { type: 'uint32', id: 2 }, traits_sha256: { type: 'string', id: 3 } } },
                Bundle: { fields: { version: { type: 'uint32', id: 1 }, bundle_json: { type: 'string', id: 2 } } },
                RunAck: { fields: { run_id: { type: 'string', id: 1 } } },
                CheckInNow: { fields: { reason: { type: 'string', id: 1 } } },
                Renewed: { fields: { cert: { type: 'string', id: 1 }, error: { type: 'string', id: 2 } } },
                SwarmAssignment: {
                  fields: { hostname: { type: 'string', id: 1 }, swarm: { type: 'SwarmGate', id: 2 }, gitback: { type: 'SwarmGate', id: 3 }, puddle: { type: 'SwarmGate', id: 4 } },
                },
                // pattern "" = no pattern matched
                SwarmGate: { fields: { allowed: { type: 'bool', id: 1 }, pattern: { type: 'string', id: 2 }, setting: { type: 'string', id: 3 } } },
                Moved: { fields: { bolt_id: { type: 'string', id: 1 }, grpc_addr: { type: 'string', id: 2 }, server: { type: 'string', id: 3 }, cert: { type: 'string', id: 4 }, ca_bundle: { type: 'string', id: 5 } } },
                Trust: { fields: { ca_bundle: { type: 'string', id: 1 } } },
                SwarmFleet: { fields: { sha256: { type: 'string', id: 1 }, name_map_json: { type: 'string', id: 2 }, peer_hints_json: { type: 'string', id: 3 } } },
              },
            },
          },
        },
      },
    },
  },
};

export interface CheckInMsg {
  policy_version: number;
  fingerprint: string;
  /** SHA-256 (hex) of the CA bundle the envoy trusts; '' from agents that predate it */
  trust_sha256?: string;
  /** sha256 of the envoy's current traits ('' from agents that predate them) */
  traits_sha256?: string;
  /** the traits (canonical JSON), only when the server has not acknowledged this sha */
  traits_json?: string;
  /** the fleet sha of the name map and hints the envoy holds (NO_FLEET_SHA: none; '' from older agents) */
  fleet_sha256?: string;
}

/** What an envoy that holds no fleet files reports as CheckIn.fleet_sha256. */
export const NO_FLEET_SHA = '0'.repeat(64);
/** What a server that holds no traits for the envoy answers as Ack.traits_sha256. */
export const NO_TRAITS_SHA = '0'.repeat(64);

export interface SwarmFleetMsg {
  sha256: string;
  name_map_json: string;
  peer_hints_json: string;
}

/** Where a moved envoy checks in now, with the certificate the new bolt signed for its key. */
export interface MovedMsg {
  bolt_id: string;
  grpc_addr: string;
  /** the new bolt's REST URL (https://HOST:PORT) */
  server: string;
  cert: string;
  ca_bundle: string;
}
export interface RunMsg {
  run_id: string;
  report_json: string;
}
export interface AgentMessage {
  seq: number;
  kind?: 'checkin' | 'run' | 'renew';
  checkin?: CheckInMsg | null;
  run?: RunMsg | null;
  renew?: { csr: string } | null;
}
export interface ServerMessage {
  seq: number;
  kind?: 'ack' | 'bundle' | 'run_ack' | 'checkin_now' | 'renewed' | 'swarm' | 'moved' | 'trust' | 'fleet';
  ack?: { policy_version: number; interval_s: number; traits_sha256?: string } | null;
  bundle?: { version: number; bundle_json: string } | null;
  run_ack?: { run_id: string } | null;
  checkin_now?: { reason: string } | null;
  renewed?: { cert: string; error: string } | null;
  swarm?: SwarmAssignmentMsg | null;
  moved?: MovedMsg | null;
  trust?: { ca_bundle: string } | null;
  fleet?: SwarmFleetMsg | null;
}

export interface SwarmGateMsg {
  allowed: boolean;
  /** "" when no pattern matched */
  pattern: string;
  setting: string;
}
export type SwarmAssignmentMsg = { hostname: string } & Record<SwarmGate, SwarmGateMsg | null>;

export function swarmAssignmentMsg(a: SwarmAssignment): SwarmAssignmentMsg {
  const g = (v: GateVerdict): SwarmGateMsg => ({ allowed: v.allowed, pattern: v.pattern ?? '', setting: v.setting });
  return { hostname: a.hostname, swarm: g(a.gates.swarm), gitback: g(a.gates.gitback), puddle: g(a.gates.puddle) };
}

/** The assignment a SwarmAssignment message carries; throws naming the field when it is not one. */
export function assignmentOfMsg(m: SwarmAssignmentMsg): SwarmAssignment {
  const gates: Record<string, unknown> = {};
  for (const k of SWARM_GATES) {
    const v = m[k];
    gates[k] = v ? { allowed: v.allowed, pattern: v.pattern === '' ? null : v.pattern, setting: v.setting } : undefined;
  }
  return checkAssignment({ hostname: m.hostname, gates }, 'check-in SwarmAssignment');
}

/**
 * The largest check-in message either side sends or accepts (gRPC frame payload). One
 * constant for the server's send and receive limits and the envoy's: a bundle the server
 * may send is one the envoy can receive.
 */
export const MAX_CHECKIN_MESSAGE_BYTES = 8 * 1024 * 1024;
/** Room left for the Bundle message's own framing (seq, tags, lengths, version). */
export const MAX_BUNDLE_JSON_BYTES = MAX_CHECKIN_MESSAGE_BYTES - 1024;

let cached: grpc.ServiceDefinition | undefined;

export function checkinService(): grpc.ServiceDefinition {
  if (cached) return cached;
  const def = protoLoader.fromJSON(checkinDescriptor as Parameters<typeof protoLoader.fromJSON>[0], { keepCase: true, longs: Number, defaults: true, oneofs: true });
  cached = def['vigo.checkin.v1.Checkin'] as grpc.ServiceDefinition;
  return cached;
}

/**
 * Channel options for an envoy dialing `addr` (`host:port` or `[v6]:port`, as enrollment
 * gave it). Dialed by IP, the server's cert is checked against its fixed SAN `vigosrv`.
 */
export function clientChannelOptions(addr: string): grpc.ChannelOptions {
  const host = addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const ipLike = /^[0-9.]+$/.test(host) || host.includes(':');
  return {
    ...(ipLike ? { 'grpc.ssl_target_name_override': 'vigosrv', 'grpc.default_authority': 'vigosrv' } : {}),
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 5_000,
    'grpc.max_receive_message_length': MAX_CHECKIN_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_CHECKIN_MESSAGE_BYTES,
  };
}
