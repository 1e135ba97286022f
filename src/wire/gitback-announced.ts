/**
 * `gitback-announced.json` (docs/wire-formats.md §21, frozen by
 * test/vectors/gitback-announced.json): the projects this envoy's peers announce on the LAN,
 * written by the agent (root) under the gitback base, 0644, and read by every user's
 * `vigo swarm puddle unlock` for ADR-023 auto-adoption. Root writes it, but what it says
 * comes from unauthenticated multicast, and users read it: the parser treats it as
 * untrusted input (strict shape, bounded size and counts, every field named on refusal),
 * and `checkAnnouncedEntry` re-derives what can be checked — the project id is
 * sha256(founder ‖ handle).
 *
 *   {"v":2,"written_at":<unix s>,"projects":[
 *     {"project_id":"<64 hex>","handle":"<handle>"|null,"founder":"<64 hex>"|null,
 *      "dr_scope":"swarm-wide"|"members-only"|null,"hosts":["<host>",…]}, …]}
 *
 * `handle` and `dr_scope` are null together (an agent older than ADR-023 announced the
 * 2-field line). `founder` is null unless the writer derived it (a public key it knows,
 * whose sha256(key ‖ handle) is the id). Entries are sorted by (project_id, handle), hosts
 * sorted and distinct.
 */
import { VigoError } from '../platform/errors.js';
import { isHex64, isValidHandle, parseStrictJson, projectId, fromHex, type Hex, type Scope } from '../trust/index.js';
import { isAnnounceHost } from './gitback-announce.js';

/** Its name under the gitback base (/var/lib/vigo/swarm/gitback/). */
export const ANNOUNCED_CACHE_FILE = 'gitback-announced.json';
export const ANNOUNCED_CACHE_VERSION = 2;
/** The file is read whole by every unlock: 4 MiB holds MAX_ANNOUNCED_ENTRIES with room to spare. */
export const MAX_ANNOUNCED_CACHE_BYTES = 4 * 1024 * 1024;
/** As many as the peer table holds projects (src/swarm/peers.ts MAX_PROJECTS). */
export const MAX_ANNOUNCED_ENTRIES = 4096;
/** Hosts listed per entry; the writer keeps the first ones in sort order. */
export const MAX_ANNOUNCED_HOSTS = 64;

export interface AnnouncedProject {
  project_id: Hex;
  handle: string | null;
  founder: Hex | null;
  dr_scope: Scope | null;
  hosts: string[];
}

export interface AnnouncedCache {
  v: 2;
  written_at: number;
  projects: AnnouncedProject[];
}

const TOP_FIELDS = ['v', 'written_at', 'projects'];
const ENTRY_FIELDS = ['project_id', 'handle', 'founder', 'dr_scope', 'hosts'];

const HINT = 'the agent rewrites this file at its next announce (about 30 s); if it stays bad, restart the agent';

function bad(what: string, msg: string): VigoError {
  return new VigoError('E_ANNOUNCED_MALFORMED', `${what}: ${msg}`, { hint: HINT });
}

function entryOrder(a: AnnouncedProject, b: AnnouncedProject): number {
  if (a.project_id !== b.project_id) return a.project_id < b.project_id ? -1 : 1;
  const ha = a.handle ?? '';
  const hb = b.handle ?? '';
  return ha < hb ? -1 : ha > hb ? 1 : 0;
}

/**
 * Parses the file's bytes; `what` names it in every error (E_ANNOUNCED_MALFORMED). Refuses
 * any other version, unknown or missing fields, bad values, more than the limits, and
 * entries out of order or repeated.
 */
export function parseAnnouncedCache(text: string | Uint8Array, what: string): AnnouncedCache {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.length;
  if (size > MAX_ANNOUNCED_CACHE_BYTES) throw bad(what, `${size} bytes (at most ${MAX_ANNOUNCED_CACHE_BYTES})`);
  let v: unknown;
  try {
    v = parseStrictJson(text, { what, maxBytes: MAX_ANNOUNCED_CACHE_BYTES });
  } catch (e) {
    // the JSON parser's message already names the file and the offset
    throw new VigoError('E_ANNOUNCED_MALFORMED', e instanceof Error ? e.message : String(e), { hint: HINT });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!TOP_FIELDS.includes(k)) throw bad(what, `unknown field '${k}'`);
  if (o.v !== ANNOUNCED_CACHE_VERSION) throw bad(what, `field v must be ${ANNOUNCED_CACHE_VERSION}, got ${JSON.stringify(o.v)}`);
  if (!Number.isSafeInteger(o.written_at) || (o.written_at as number) < 0) throw bad(what, 'field written_at must be a non-negative integer (unix seconds)');
  if (!Array.isArray(o.projects)) throw bad(what, 'field projects must be an array');
  if (o.projects.length > MAX_ANNOUNCED_ENTRIES) throw bad(what, `projects has ${o.projects.length} entries (at most ${MAX_ANNOUNCED_ENTRIES})`);
  const projects: AnnouncedProject[] = [];
  o.projects.forEach((e: unknown, i: number) => {
    const at = `projects[${i}]`;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw bad(what, `${at} is not an object`);
    const p = e as Record<string, unknown>;
    for (const k of Object.keys(p)) if (!ENTRY_FIELDS.includes(k)) throw bad(what, `${at} has an unknown field '${k}'`);
    for (const k of ENTRY_FIELDS) if (!(k in p)) throw bad(what, `${at} lacks field '${k}'`);
    if (typeof p.project_id !== 'string' || !isHex64(p.project_id)) throw bad(what, `${at}.project_id must be 64 lowercase hex`);
    if (p.handle !== null && (typeof p.handle !== 'string' || !isValidHandle(p.handle))) throw bad(what, `${at}.handle must be a project handle or null`);
    if (p.founder !== null && (typeof p.founder !== 'string' || !isHex64(p.founder))) throw bad(what, `${at}.founder must be 64 lowercase hex or null`);
    if (p.dr_scope !== null && p.dr_scope !== 'swarm-wide' && p.dr_scope !== 'members-only') throw bad(what, `${at}.dr_scope must be swarm-wide, members-only or null`);
    if ((p.handle === null) !== (p.dr_scope === null)) throw bad(what, `${at}: handle and dr_scope are null together (an old 2-field announce) or both set`);
    if (p.founder !== null && p.handle === null) throw bad(what, `${at}.founder needs a handle`);
    if (!Array.isArray(p.hosts) || p.hosts.length === 0 || p.hosts.length > MAX_ANNOUNCED_HOSTS) throw bad(what, `${at}.hosts must be 1-${MAX_ANNOUNCED_HOSTS} host names`);
    const hosts = p.hosts as unknown[];
    hosts.forEach((h, j) => {
      if (typeof h !== 'string' || !isAnnounceHost(h)) throw bad(what, `${at}.hosts[${j}] is not a host name`);
      if (j > 0 && !((hosts[j - 1] as string) < h)) throw bad(what, `${at}.hosts must be sorted and distinct`);
    });
    const entry: AnnouncedProject = {
      project_id: p.project_id,
      handle: p.handle as string | null,
      founder: p.founder as Hex | null,
      dr_scope: p.dr_scope as Scope | null,
      hosts: hosts as string[],
    };
    const prev = projects[projects.length - 1];
    if (prev !== undefined && entryOrder(prev, entry) >= 0) throw bad(what, `${at} is out of order or repeated (sorted by project_id, then handle)`);
    projects.push(entry);
  });
  return { v: 2, written_at: o.written_at as number, projects };
}

/** The file's text (sorted entries and hosts, one line, a trailing newline); throws RangeError on a value the parser would refuse. */
export function encodeAnnouncedCache(c: { written_at: number; projects: readonly AnnouncedProject[] }): string {
  const projects = [...c.projects]
    .map((p) => ({ project_id: p.project_id, handle: p.handle, founder: p.founder, dr_scope: p.dr_scope, hosts: [...new Set(p.hosts)].sort().slice(0, MAX_ANNOUNCED_HOSTS) }))
    .sort(entryOrder);
  const text = JSON.stringify({ v: ANNOUNCED_CACHE_VERSION, written_at: c.written_at, projects }) + '\n';
  try {
    parseAnnouncedCache(text, 'gitback-announced.json');
  } catch (e) {
    throw new RangeError(`cannot write gitback-announced.json: ${e instanceof Error ? e.message : String(e)}`);
  }
  return text;
}

export type EntryCheck = { ok: true } | { ok: false; code: 'E_ANNOUNCED_FORGED'; reason: string };

/**
 * What can be verified about one entry offline: a named founder must be the key whose
 * sha256(founder ‖ handle) is the project id. (Hosts and scope are nominations; the
 * transport's mTLS and the chains settle them.)
 */
export function checkAnnouncedEntry(e: AnnouncedProject): EntryCheck {
  if (e.founder === null || e.handle === null) return { ok: true };
  const want = projectId(fromHex(e.founder), e.handle);
  if (want !== e.project_id) {
    return { ok: false, code: 'E_ANNOUNCED_FORGED', reason: `project id ${e.project_id.slice(0, 12)}… is not sha256(founder ‖ "${e.handle}") = ${want.slice(0, 12)}…` };
  }
  return { ok: true };
}

/** The founder among `candidates` (hex keys) whose sha256(key ‖ handle) is `pid`, or null. */
export function deriveFounder(pid: Hex, handle: string, candidates: Iterable<Hex>): Hex | null {
  for (const k of candidates) if (isHex64(k) && projectId(fromHex(k), handle) === pid) return k;
  return null;
}
