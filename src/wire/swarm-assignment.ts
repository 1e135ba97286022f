/**
 * The envoy's swarm assignment (issue 11 item 2): what vigosrv resolved from server.yaml's
 * `swarm.enabled`, `swarm.gitback.enabled` and `swarm.puddle.enabled` for this envoy's
 * hostname (its enrollment record), sent down the check-in stream (`SwarmAssignment` in
 * src/wire/checkin.ts) and kept by the agent in `/var/lib/vigo/swarm/assignment.json`
 * (0644, atomically): the agent starts the swarm peer server and announcer from it, and
 * the per-user `vigo swarm …` verbs and the helper daemon refuse from it.
 *
 *   { "v": 1, "hostname": "web-3", "received_at": 1767225600,
 *     "gates": { "swarm":   { "allowed": true,  "pattern": "*",      "setting": "server.yaml swarm.enabled" },
 *                "gitback": { "allowed": false, "pattern": "-web-*", "setting": "server.yaml swarm.gitback.enabled" },
 *                "puddle":  { "allowed": false, "pattern": null,     "setting": "server.yaml swarm.puddle.enabled" } } }
 *
 * `pattern` is the pattern that decided (as written, a leading `-` included), null when no
 * pattern matched (an empty list matches nothing). A subsystem is on only when both
 * `swarm` and its own gate say yes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { paths, type Env } from '../platform/paths.js';

export const SWARM_GATES = ['swarm', 'gitback', 'puddle'] as const;
export type SwarmGate = (typeof SWARM_GATES)[number];
/** the subsystems a gate pair guards (swarm.enabled AND swarm.<subsystem>.enabled) */
export type SwarmSubsystem = Exclude<SwarmGate, 'swarm'>;

export interface GateVerdict {
  allowed: boolean;
  /** the pattern that decided, as written (`-web-*` for a deny); null: no pattern matched */
  pattern: string | null;
  /** where the gate is configured, for messages: `server.yaml swarm.gitback.enabled` */
  setting: string;
}

export interface SwarmAssignment {
  /** the hostname the server resolved the patterns for (the envoy's enrollment record) */
  hostname: string;
  gates: Record<SwarmGate, GateVerdict>;
}

export interface StoredAssignment extends SwarmAssignment {
  v: 1;
  /** unix seconds the agent received it */
  received_at: number;
}

export const GATE_SETTINGS: Record<SwarmGate, string> = {
  swarm: 'server.yaml swarm.enabled',
  gitback: 'server.yaml swarm.gitback.enabled',
  puddle: 'server.yaml swarm.puddle.enabled',
};

export function assignmentFile(env: Env): string {
  return join(paths.varLib(env), 'swarm', 'assignment.json');
}

/** The gate that decides a subsystem: `swarm` when it says no, else the subsystem's own. */
export function decidingGate(a: SwarmAssignment, subsystem: SwarmSubsystem): { gate: SwarmGate; verdict: GateVerdict; allowed: boolean } {
  const swarm = a.gates.swarm;
  if (!swarm.allowed) return { gate: 'swarm', verdict: swarm, allowed: false };
  const own = a.gates[subsystem];
  return { gate: subsystem, verdict: own, allowed: own.allowed };
}

export function subsystemAllowed(a: SwarmAssignment | null, subsystem: SwarmSubsystem): boolean {
  return a !== null && decidingGate(a, subsystem).allowed;
}

function checkVerdict(v: unknown, where: string): GateVerdict {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where} must be an object {allowed, pattern, setting}`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['allowed', 'pattern', 'setting'].includes(k)) throw new Error(`${where}: unknown field ${k}`);
  if (typeof o.allowed !== 'boolean') throw new Error(`${where}.allowed must be true or false`);
  if (o.pattern !== null && (typeof o.pattern !== 'string' || o.pattern === '' || o.pattern.length > 256)) throw new Error(`${where}.pattern must be a pattern (1–256 characters) or null`);
  if (typeof o.setting !== 'string' || o.setting === '' || o.setting.length > 256) throw new Error(`${where}.setting must name where the gate is configured`);
  return { allowed: o.allowed, pattern: o.pattern, setting: o.setting };
}

/** Validates an assignment (from the stream or the file); `what` names it in errors. */
export function checkAssignment(v: unknown, what: string): SwarmAssignment {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: must be an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.hostname !== 'string' || o.hostname === '' || o.hostname.length > 255) throw new Error(`${what}: hostname must be the envoy's hostname`);
  const g = o.gates;
  if (typeof g !== 'object' || g === null || Array.isArray(g)) throw new Error(`${what}: gates must be an object`);
  for (const k of Object.keys(g)) if (!(SWARM_GATES as readonly string[]).includes(k)) throw new Error(`${what}: gates.${k} is not a gate (known: ${SWARM_GATES.join(', ')})`);
  const gates = {} as Record<SwarmGate, GateVerdict>;
  for (const k of SWARM_GATES) gates[k] = checkVerdict((g as Record<string, unknown>)[k], `${what}: gates.${k}`);
  return { hostname: o.hostname, gates };
}

function parseStored(text: string, file: string): StoredAssignment {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.v !== 1) throw new Error(`${file}: v must be 1`);
  if (typeof o.received_at !== 'number' || !Number.isInteger(o.received_at) || o.received_at < 0) throw new Error(`${file}: received_at must be unix seconds`);
  for (const k of Object.keys(o)) if (!['v', 'hostname', 'received_at', 'gates'].includes(k)) throw new Error(`${file}: unknown field ${k}`);
  return { v: 1, received_at: o.received_at, ...checkAssignment(o, file) };
}

/** The assignment the agent last received; null when there is none yet. Throws E_SWARM_ASSIGNMENT on a damaged file. */
export function readSwarmAssignment(env: Env): StoredAssignment | null {
  const file = assignmentFile(env);
  if (!existsSync(file)) return null;
  try {
    return parseStored(readFileSync(file, 'utf8'), file);
  } catch (e) {
    throw new VigoError('E_SWARM_ASSIGNMENT', e instanceof Error ? e.message : String(e), { hint: 'the agent rewrites it at its next check-in; restart `vigo agent run` or remove the file and let it check in' });
  }
}

/** The agent's writer (tests that need an assignment write it through here too). */
export function writeSwarmAssignment(env: Env, a: SwarmAssignment, receivedAt: number): StoredAssignment {
  const stored: StoredAssignment = { v: 1, hostname: a.hostname, received_at: receivedAt, gates: a.gates };
  // 0644 under 0755 directories: the per-user verbs read it
  writeJsonAtomic(assignmentFile(env), stored, { mode: 0o644, mkdirMode: 0o755 });
  return stored;
}

export function sameAssignment(a: SwarmAssignment | null, b: SwarmAssignment | null): boolean {
  if (a === null || b === null) return a === b;
  return a.hostname === b.hostname && SWARM_GATES.every((k) => a.gates[k].allowed === b.gates[k].allowed && a.gates[k].pattern === b.gates[k].pattern && a.gates[k].setting === b.gates[k].setting);
}

/** Why the gate says no, in one sentence naming the setting and the pattern. */
export function gateRefusal(a: SwarmAssignment, subsystem: SwarmSubsystem): string {
  const d = decidingGate(a, subsystem);
  const why = d.verdict.pattern === null ? `${d.verdict.setting} has no pattern matching ${a.hostname}` : `${d.verdict.setting} denies ${a.hostname} with pattern "${d.verdict.pattern}"`;
  return `${subsystem} is not enabled on this envoy (${a.hostname}): ${why}`;
}

/**
 * The envoy-level gate: throws E_SWARM_GATE unless this envoy's assignment enables
 * `subsystem` (both swarm.enabled and swarm.<subsystem>.enabled), and E_SWARM_UNASSIGNED
 * when the agent has not received one yet. Root is subject to it too: it is the envoy's.
 */
export function checkEnvoyGate(env: Env, subsystem: SwarmSubsystem): SwarmAssignment {
  const file = assignmentFile(env);
  const a = readSwarmAssignment(env);
  if (a === null) {
    throw new VigoError('E_SWARM_UNASSIGNED', `${subsystem} is not enabled on this envoy: it has no swarm assignment yet (${file} does not exist)`, {
      hint: 'the agent writes it when it checks in to vigosrv: check that this envoy is enrolled (vigo agent enroll) and `vigo agent run` is running and reaches the server, then retry',
    });
  }
  const d = decidingGate(a, subsystem);
  if (!d.allowed) {
    const key = d.verdict.setting.replace(/^server\.yaml /, '');
    throw new VigoError('E_SWARM_GATE', gateRefusal(a, subsystem), {
      hint: `ask the operator to put a pattern matching ${a.hostname} in ${key} of the server's server.yaml${d.verdict.pattern !== null ? ` before "${d.verdict.pattern}"` : ''} and restart vigosrv; this envoy picks it up at its next check-in`,
    });
  }
  return a;
}
