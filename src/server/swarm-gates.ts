/**
 * The envoy-level swarm gates (issue 11 item 2): server.yaml `swarm.enabled`,
 * `swarm.gitback.enabled` and `swarm.puddle.enabled` are hostname-pattern lists. The first
 * pattern that matches decides; a leading `-` makes it a deny; no match denies, so an
 * empty (or absent) list is off everywhere. Patterns are the match blocks' globs
 * (src/server/stacks/glob.ts: `*`, `?`, `[a-z]`, case-insensitive).
 *
 * Pure: the check-in server resolves an envoy's assignment from the hostname in its
 * enrollment record, never from anything the envoy sends.
 */
import { compileGlob } from './stacks/glob.js';
import { GATE_SETTINGS, type GateVerdict, type SwarmAssignment, type SwarmGate } from '../wire/swarm-assignment.js';

/** server.yaml's `swarm:` section as the gates read it */
export interface SwarmGatesConfig {
  enabled?: readonly string[] | undefined;
  gitback?: { enabled?: readonly string[] | undefined } | undefined;
  puddle?: { enabled?: readonly string[] | undefined } | undefined;
}

/** The glob of a pattern (without its `-`), or why it is not one: for the config check. */
export function swarmPatternError(pattern: string): string | null {
  const glob = pattern.startsWith('-') ? pattern.slice(1) : pattern;
  const re = compileGlob(glob);
  return re instanceof RegExp ? null : re.error;
}

/** First match wins; a leading `-` denies; no match denies. */
export function resolveGate(hostname: string, patterns: readonly string[], setting: string): GateVerdict {
  for (const p of patterns) {
    const deny = p.startsWith('-');
    const re = compileGlob(deny ? p.slice(1) : p);
    if (re instanceof RegExp && re.test(hostname)) return { allowed: !deny, pattern: p, setting };
  }
  return { allowed: false, pattern: null, setting };
}

export function resolveSwarmAssignment(hostname: string, cfg: SwarmGatesConfig): SwarmAssignment {
  const lists: Record<SwarmGate, readonly string[]> = {
    swarm: cfg.enabled ?? [],
    gitback: cfg.gitback?.enabled ?? [],
    puddle: cfg.puddle?.enabled ?? [],
  };
  return {
    hostname,
    gates: {
      swarm: resolveGate(hostname, lists.swarm, GATE_SETTINGS.swarm),
      gitback: resolveGate(hostname, lists.gitback, GATE_SETTINGS.gitback),
      puddle: resolveGate(hostname, lists.puddle, GATE_SETTINGS.puddle),
    },
  };
}
