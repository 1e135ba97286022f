/**
 * A swarm assignment for a test envoy, written through the agent's own writer: what the
 * agent would keep after a check-in to a vigosrv whose server.yaml says
 * `swarm.enabled`, `swarm.gitback.enabled` and `swarm.puddle.enabled` (default `["*"]`:
 * every gate open). Tests that exercise the gates write other patterns.
 */
import { resolveSwarmAssignment, type SwarmGatesConfig } from '../../src/server/index.js';
import { writeSwarmAssignment, type StoredAssignment } from '../../src/wire/swarm-assignment.js';

export const OPEN_GATES: SwarmGatesConfig = { enabled: ['*'], gitback: { enabled: ['*'] }, puddle: { enabled: ['*'] } };

export function assignSwarm(vigoRoot: string, gates: SwarmGatesConfig = OPEN_GATES, hostname = 'test-envoy'): StoredAssignment {
  return writeSwarmAssignment({ VIGO_ROOT: vigoRoot }, resolveSwarmAssignment(hostname, gates), Math.floor(Date.now() / 1000));
}
