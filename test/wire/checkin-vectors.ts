// Builds test/vectors/checkin-swarm.json (the SwarmAssignment added to the check-in
// protocol) and reads it back. The checked-in JSON is the specification: the test loads it
// as it is and never regenerates it. Regenerate only after a deliberate format change:
// `npx tsc -p tsconfig.json && node dist/test/wire/checkin-vectors.js`, then review the
// diff and docs/wire-formats.md ("Check-in: the swarm assignment").
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { checkinDescriptor, swarmAssignmentMsg, type ServerMessage } from '../../src/wire/checkin.js';
import { resolveSwarmAssignment } from '../../src/server/index.js';
import type { SwarmAssignment } from '../../src/wire/swarm-assignment.js';
import { serialize, vectorDir } from '../vectors/generate.js';

export const CHECKIN_SWARM_FILE = 'checkin-swarm.json';

export interface CheckinSwarmVectors {
  description: string;
  valid: Array<{ name: string; server_yaml_swarm: unknown; assignment: SwarmAssignment; message: ServerMessage; hex: string }>;
}

/** ServerMessage as this tree speaks it, and as an agent from before field 7 would. */
export function serverMessageType(old = false): protobuf.Type {
  const d = JSON.parse(JSON.stringify(checkinDescriptor)) as { nested: { vigo: { nested: { checkin: { nested: { v1: { nested: Record<string, { oneofs?: Record<string, { oneof: string[] }>; fields: Record<string, unknown> }> } } } } } } };
  const v1 = d.nested.vigo.nested.checkin.nested.v1.nested;
  if (old) {
    const sm = v1.ServerMessage!;
    delete sm.fields.swarm;
    sm.oneofs!.kind!.oneof = sm.oneofs!.kind!.oneof.filter((k) => k !== 'swarm');
    delete v1.SwarmAssignment;
    delete v1.SwarmGate;
  }
  return protobuf.Root.fromJSON(d as unknown as protobuf.INamespace).lookupType('vigo.checkin.v1.ServerMessage');
}

export function buildCheckinSwarmVectors(): CheckinSwarmVectors {
  const type = serverMessageType();
  const cases: Array<{ name: string; hostname: string; swarm: Parameters<typeof resolveSwarmAssignment>[1] }> = [
    { name: 'gitback and puddle on (first match)', hostname: 'web-3', swarm: { enabled: ['*'], gitback: { enabled: ['web-*'] }, puddle: { enabled: ['web-*', 'db-*'] } } },
    { name: 'gitback denied by a - pattern, puddle by no match', hostname: 'web-3', swarm: { enabled: ['*'], gitback: { enabled: ['-web-3', 'web-*'] }, puddle: { enabled: ['db-*'] } } },
    { name: 'every gate off (no swarm section)', hostname: 'db-1.example', swarm: {} },
  ];
  return {
    description: 'The SwarmAssignment server message (vigo.checkin.v1.ServerMessage field 7, seq 0): the gates vigosrv resolved from server.yaml for the hostname in the envoy enrollment record, protobuf bytes in hex (docs/wire-formats.md "Check-in: the swarm assignment")',
    valid: cases.map((c) => {
      const assignment = resolveSwarmAssignment(c.hostname, c.swarm);
      const message: ServerMessage = { seq: 0, swarm: swarmAssignmentMsg(assignment) };
      return { name: c.name, server_yaml_swarm: c.swarm, assignment, message, hex: Buffer.from(type.encode(type.fromObject(message)).finish()).toString('hex') };
    }),
  };
}

export function loadCheckinSwarmVectors(): CheckinSwarmVectors {
  return JSON.parse(readFileSync(join(vectorDir(), CHECKIN_SWARM_FILE), 'utf8')) as CheckinSwarmVectors;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(vectorDir(), CHECKIN_SWARM_FILE), serialize(buildCheckinSwarmVectors()));
}
