// Builds test/vectors/swarm-fleet.json (the swarm fleet contract, docs/wire-formats.md §22)
// and reads it back. The checked-in JSON is the specification: the test loads it as it is
// and never regenerates it. Regenerate only after a deliberate format change:
// `npx tsc -p tsconfig.json && node dist/test/wire/swarm-fleet-vectors.js`, then review the
// diff and docs/wire-formats.md §22.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, mintNameClaim, projectId, seedSigner } from '../../src/trust/index.js';
import { fleetSha, makeNameMap, makePeerHints, traitsSha, traitsText, type GitbackFleetView, type NameMap, type PeerHints, type PuddleFleetView, type Traits } from '../../src/wire/swarm-fleet.js';
import { serialize, vectorDir } from '../vectors/generate.js';

export const SWARM_FLEET_FILE = 'swarm-fleet.json';

export interface SwarmFleetVectors {
  description: string;
  traits: { value: Traits; text: string; sha256: string };
  name_map: NameMap;
  peer_hints: PeerHints;
  fleet_sha256: string;
  gitback_fleet: GitbackFleetView;
  puddle_fleet: PuddleFleetView;
  /** each: which parser, the input, a substring the error must contain */
  invalid: Array<{ name: string; parser: 'traits' | 'name_map' | 'peer_hints' | 'gitback_fleet' | 'puddle_fleet'; input: unknown; error: string }>;
}

const keys = JSON.parse(readFileSync(join(vectorDir(), 'keys.json'), 'utf8')) as Record<string, { seed: string; public_key: string }>;
const T0 = 1764000000;

export async function buildSwarmFleetVectors(): Promise<SwarmFleetVectors> {
  const alice = keys.alice!.public_key;
  const bob = keys.bob!.public_key;
  const mallory = keys.mallory!.public_key;
  const claim = await mintNameClaim(seedSigner(fromHex(keys.alice!.seed)), 'alice', T0);
  const pid = projectId(fromHex(alice), 'vigo-web');
  const main = 'refs/heads/main';
  const tipA = '1f0c3a6d2b9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a';
  const tipB = '2a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';
  const traits: Traits = {
    v: 1,
    puddle: {
      users: [
        { user: 'alice', uid: 1001, pubkey: alice, initialized: true, unlocked: true, pair_pending: false, name_claim: claim },
        { user: 'bob', uid: 1002, pubkey: null, initialized: false, unlocked: false, pair_pending: false, name_claim: null },
      ],
    },
    gitback: {
      projects: [
        { project_id: pid, handle: 'vigo-web', founder: alice, scope: 'members-only', members: [alice, bob], bare_repo: true, bare_repo_bytes: 40960, refs: { [main]: tipA }, revokes: 1, leaves: 0, tombstoned: false },
      ],
    },
  };
  const text = traitsText(traits);
  const name_map = makeNameMap({ alice: { status: 'ok', pubkey: alice }, ops: { status: 'contested', pubkeys: [bob, mallory].sort() } });
  const peer_hints = makePeerHints({ [pid]: [{ envoy_id: '6f1c2d3e-0000-4000-8000-000000000002', hostname: 'web-2', addr: '10.20.0.2' }] });
  const host = (id: string, hostname: string, tip: string, stale: boolean) => ({
    envoy_id: id, hostname, reporting: !stale, stale, last_seen: stale ? '2025-11-24T15:00:00.000Z' : '2025-11-24T16:00:00.000Z',
    bare_repo: true, bare_repo_bytes: 40960, refs: { [main]: tip }, revokes: 1, leaves: 0, tombstoned: false,
  });
  const gitback_fleet: GitbackFleetView = {
    v: 1,
    generated_at: '2025-11-24T16:00:30.000Z',
    projects: [{
      project_id: pid, handle: 'vigo-web', founder: alice, founder_name: 'alice', scope: 'members-only', members: [alice, bob],
      hosts: [host('6f1c2d3e-0000-4000-8000-000000000001', 'web-1', tipA, false), host('6f1c2d3e-0000-4000-8000-000000000002', 'web-2', tipB, false)],
      divergent_refs: [main], revokes: 1, leaves: 0,
    }],
  };
  const puddle_fleet: PuddleFleetView = {
    v: 1,
    generated_at: '2025-11-24T16:00:30.000Z',
    puddles: [{
      pubkey: alice, name: 'alice',
      envoys: [
        { envoy_id: '6f1c2d3e-0000-4000-8000-000000000001', hostname: 'web-1', user: 'alice', unlocked: true, pair_pending: false, stale: false },
        { envoy_id: '6f1c2d3e-0000-4000-8000-000000000003', hostname: 'db-1', user: 'alice', unlocked: false, pair_pending: false, stale: true },
      ],
      users: ['alice'], health: 'degraded',
    }],
  };
  const u0 = traits.puddle.users[0]!;
  const p0 = traits.gitback.projects[0]!;
  const replicaOf = (p: typeof p0) => ({ project_id: p.project_id, bare_repo: p.bare_repo, bare_repo_bytes: p.bare_repo_bytes, refs: p.refs, revokes: p.revokes, leaves: p.leaves, tombstoned: p.tombstoned });
  const invalid: SwarmFleetVectors['invalid'] = [
    { name: 'traits of version 2', parser: 'traits', input: { ...traits, v: 2 }, error: 'traits.v: version 2 is not understood' },
    { name: 'an unknown top-level field', parser: 'traits', input: { ...traits, lockbox: {} }, error: 'traits: unknown field "lockbox"' },
    { name: 'an unknown user field', parser: 'traits', input: { ...traits, puddle: { users: [{ ...u0, shell: '/bin/sh' }] } }, error: 'traits.puddle.users[0]: unknown field "shell"' },
    { name: 'a name claim with a field too many', parser: 'traits', input: { ...traits, puddle: { users: [{ ...u0, name_claim: { ...claim, extra: 1 } }] } }, error: 'traits.puddle.users[0].name_claim' },
    { name: 'a tip that is not an object id', parser: 'traits', input: { ...traits, gitback: { projects: [{ ...p0, refs: { [main]: 'HEAD' } }] } }, error: 'traits.gitback.projects[0].refs["refs/heads/main"]' },
    { name: 'a ref name outside refs/', parser: 'traits', input: { ...traits, gitback: { projects: [{ ...p0, refs: { HEAD: tipA } }] } }, error: 'traits.gitback.projects[0].refs: "HEAD" is not a ref name' },
    { name: 'a project listed twice', parser: 'traits', input: { ...traits, gitback: { projects: [p0, p0] } }, error: 'traits.gitback.projects[1].project_id: appears twice' },
    { name: 'a bad scope', parser: 'traits', input: { ...traits, gitback: { projects: [{ ...p0, scope: 'public' }] } }, error: 'traits.gitback.projects[0].scope' },
    { name: 'a name map whose sha does not match', parser: 'name_map', input: { ...name_map, names: { alice: { status: 'ok', pubkey: mallory } } }, error: 'name map.sha256: does not match the content' },
    { name: 'a contested name with one claimant', parser: 'name_map', input: { ...name_map, names: { ops: { status: 'contested', pubkeys: [bob] } } }, error: 'name map.names["ops"].pubkeys: a contested name has at least two claimants' },
    { name: 'a name of unknown status', parser: 'name_map', input: { ...name_map, names: { ops: { status: 'maybe' } } }, error: 'name map.names["ops"].status' },
    { name: 'peer hints with an unknown field', parser: 'peer_hints', input: { ...peer_hints, projects: { [pid]: [{ ...peer_hints.projects[pid]![0]!, port: 7443 }] } }, error: 'unknown field "port"' },
    { name: 'peer hints of version 0', parser: 'peer_hints', input: { ...peer_hints, v: 0 }, error: 'peer hints.v: version 0 is not understood' },
    { name: 'a gitback view host without stale', parser: 'gitback_fleet', input: { ...gitback_fleet, projects: [{ ...gitback_fleet.projects[0]!, hosts: [{ ...gitback_fleet.projects[0]!.hosts[0]!, stale: undefined }] }] }, error: 'gitback fleet view.projects[0].hosts[0]: missing field stale' },
    { name: 'a project head whose founder and handle do not derive its id', parser: 'traits', input: { ...traits, gitback: { projects: [{ ...p0, handle: 'not-vigo-web' }] } }, error: 'traits.gitback.projects[0].project_id: is not sha256(founder ‖ handle)' },
    { name: 'a replica listed as a project too', parser: 'traits', input: { ...traits, gitback: { projects: [p0], replicas: [replicaOf(p0)] } }, error: 'traits.gitback.replicas[0].project_id: appears twice' },
    { name: 'an empty replicas list', parser: 'traits', input: { ...traits, gitback: { projects: [p0], replicas: [] } }, error: 'traits.gitback.replicas: is absent when there are none' },
    { name: 'a replica that names its handle', parser: 'traits', input: { ...traits, gitback: { projects: [], replicas: [{ ...replicaOf(p0), handle: 'vigo-web' }] } }, error: 'traits.gitback.replicas[0]: unknown field "handle"' },
    { name: 'a puddle view health outside the band', parser: 'puddle_fleet', input: { ...puddle_fleet, puddles: [{ ...puddle_fleet.puddles[0]!, health: 'fine' }] }, error: 'puddle fleet view.puddles[0].health' },
  ];
  return {
    description: 'The swarm fleet contract (docs/wire-formats.md §22): traits as sent in CheckIn.traits_json (text = the exact bytes, sha256 = CheckIn.traits_sha256), the fleet name map and peer hints (sha256 = sha256 of the canonical JSON without sha256), fleet_sha256 = sha256("vigo/swarm-fleet/v1\\0" + name_map.sha256 + "\\n" + peer_hints.sha256), the two REST views, and inputs each parser must refuse with an error naming the field',
    traits: { value: traits, text, sha256: traitsSha(text) },
    name_map,
    peer_hints,
    fleet_sha256: fleetSha(name_map.sha256, peer_hints.sha256),
    gitback_fleet,
    puddle_fleet,
    invalid: JSON.parse(JSON.stringify(invalid)) as SwarmFleetVectors['invalid'],
  };
}

export function loadSwarmFleetVectors(): SwarmFleetVectors {
  return JSON.parse(readFileSync(join(vectorDir(), SWARM_FLEET_FILE), 'utf8')) as SwarmFleetVectors;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(vectorDir(), SWARM_FLEET_FILE), serialize(await buildSwarmFleetVectors()));
}
