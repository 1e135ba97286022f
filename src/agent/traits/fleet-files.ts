/**
 * The fleet files the agent keeps from the server's SwarmFleet message (docs/swarm.md "The
 * fleet name map", "Peer hints"): /var/lib/vigo/swarm/name-map.json and peer-hints.json,
 * 0644 root-owned, each written atomically, the name map first. They are checked before
 * anything is written (both parse, and their shas make the message's fleet sha): a bad
 * message leaves the files the envoy holds standing.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Env } from '../../platform/paths.js';
import { writeJsonAtomic } from '../../platform/atomic.js';
import { NO_FLEET_SHA, type SwarmFleetMsg } from '../../wire/checkin.js';
import { fleetSha, MAX_FLEET_FILE_BYTES, nameMapFile, parseNameMap, parsePeerHints, peerHintsFile, type NameMap, type PeerHints } from '../../wire/swarm-fleet.js';

/** The fleet sha of the files held (NO_FLEET_SHA when either is missing or unreadable). */
export function heldFleetSha(env: Env): string {
  const nf = nameMapFile(env);
  const hf = peerHintsFile(env);
  if (!existsSync(nf) || !existsSync(hf)) return NO_FLEET_SHA;
  try {
    const n = parseNameMap(readFileSync(nf), nf);
    const h = parsePeerHints(readFileSync(hf), hf);
    return fleetSha(n.sha256, h.sha256);
  } catch {
    return NO_FLEET_SHA; // the server's next SwarmFleet replaces them
  }
}

/** Checks a SwarmFleet message and writes both files; returns what was written. Throws naming the problem. */
export function writeFleetFiles(env: Env, m: SwarmFleetMsg): { nameMap: NameMap; hints: PeerHints; sha256: string } {
  if (m.name_map_json.length > MAX_FLEET_FILE_BYTES || m.peer_hints_json.length > MAX_FLEET_FILE_BYTES) throw new Error(`a fleet file over ${MAX_FLEET_FILE_BYTES} bytes`);
  const nameMap = parseNameMap(m.name_map_json, 'the server\'s name map');
  const hints = parsePeerHints(m.peer_hints_json, 'the server\'s peer hints');
  const sha256 = fleetSha(nameMap.sha256, hints.sha256);
  if (sha256 !== m.sha256) throw new Error('SwarmFleet.sha256 is not the fleet sha of its name map and peer hints');
  writeJsonAtomic(nameMapFile(env), nameMap, { mode: 0o644, mkdirMode: 0o755 });
  writeJsonAtomic(peerHintsFile(env), hints, { mode: 0o644, mkdirMode: 0o755 });
  return { nameMap, hints, sha256 };
}
