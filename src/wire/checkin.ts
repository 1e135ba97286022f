/**
 * The check-in wire protocol (gRPC, package vigo.checkin.v1), shared by vigosrv and the
 * agent. One bidirectional stream per envoy; the envoy's identity is its client
 * certificate (CN = envoy id), never a field in a message.
 *
 *   service Checkin { rpc Stream(stream AgentMessage) returns (stream ServerMessage); }
 *   AgentMessage  { seq; oneof kind { CheckIn checkin; Run run; Renew renew; } }
 *   ServerMessage { seq; oneof kind { Ack ack; Bundle bundle; RunAck run_ack; CheckInNow checkin_now; Renewed renewed;
 *                                     SwarmAssignment swarm; } }
 *
 * A no-change check-in is answered with a bare Ack echoing the policy version. `Renew`
 * (a CSR for the envoy's own key) is answered with `Renewed` (a fresh client certificate,
 * or `error`). Renew/Renewed were added later with new field ids only: a server that does
 * not know them ignores the message and the envoy's request times out (it retries later).
 * `SwarmAssignment` (field 7, added later the same way) is sent unasked, seq 0, when a
 * stream opens: the swarm gates vigosrv resolved for this envoy's enrolled hostname
 * (src/wire/swarm-assignment.ts). An agent that does not know it ignores it (its seq
 * matches no request); a server that does not send it leaves the agent's last one standing.
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
                CheckIn: { fields: { policy_version: { type: 'uint32', id: 1 }, fingerprint: { type: 'string', id: 2 } } },
                Run: { fields: { run_id: { type: 'string', id: 1 }, report_json: { type: 'string', id: 2 } } },
                Renew: { fields: { csr: { type: 'string', id: 1 } } },
                ServerMessage: {
                  oneofs: { kind: { oneof: ['ack', 'bundle', 'run_ack', 'checkin_now', 'renewed', 'swarm'] } },
                  fields: {
                    seq: { type: 'uint32', id: 1 },
                    ack: { type: 'Ack', id: 2 },
                    bundle: { type: 'Bundle', id: 3 },
                    run_ack: { type: 'RunAck', id: 4 },
                    checkin_now: { type: 'CheckInNow', id: 5 },
                    renewed: { type: 'Renewed', id: 6 },
                    swarm: { type: 'SwarmAssignment', id: 7 },
                  },
                },
                Ack: { fields: { policy_version: { type: 'uint32', id: 1 }, interval_s: { type: 'uint32', id: 2 } } },
                Bundle: { fields: { version: { type: 'uint32', id: 1 }, bundle_json: { type: 'string', id: 2 } } },
                RunAck: { fields: { run_id: { type: 'string', id: 1 } } },
                CheckInNow: { fields: { reason: { type: 'string', id: 1 } } },
                Renewed: { fields: { cert: { type: 'string', id: 1 }, error: { type: 'string', id: 2 } } },
                SwarmAssignment: {
                  fields: { hostname: { type: 'string', id: 1 }, swarm: { type: 'SwarmGate', id: 2 }, gitback: { type: 'SwarmGate', id: 3 }, puddle: { type: 'SwarmGate', id: 4 } },
                },
                // pattern "" = no pattern matched
                SwarmGate: { fields: { allowed: { type: 'bool', id: 1 }, pattern: { type: 'string', id: 2 }, setting: { type: 'string', id: 3 } } },
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
  kind?: 'ack' | 'bundle' | 'run_ack' | 'checkin_now' | 'renewed' | 'swarm';
  ack?: { policy_version: number; interval_s: number } | null;
  bundle?: { version: number; bundle_json: string } | null;
  run_ack?: { run_id: string } | null;
  checkin_now?: { reason: string } | null;
  renewed?: { cert: string; error: string } | null;
  swarm?: SwarmAssignmentMsg | null;
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
