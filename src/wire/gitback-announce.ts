/**
 * LAN announce lines (docs/gitback.md "Replication (protocol)", frozen by
 * test/vectors/gitback-announce.json). One UDP datagram carries one or more lines separated
 * by "\n", ASCII only:
 *
 *   GITBACKPROJECT:<host>:<pid_hex>:<handle>:<dr_scope>   this envoy holds the project's bare repo
 *   GITBACKPROJECT:<host>:<pid_hex>                       the same, from an agent older than ADR-023
 *   VIGOENVOY:<host>:<envoy_id>:<peer_port>               this envoy is gitback-enabled and listens on peer_port
 *
 * An announce only nominates a peer: the swarm transport's mTLS proves who answers. So the
 * parser is strict and cheap, never throws on network input, and names a reason code for
 * every line it refuses so the caller can count them.
 */
import { isHex64, isValidHandle, type Hex, type Scope } from '../trust/index.js';

/** Largest datagram accepted or produced: fits one Ethernet frame with IPv4/UDP headers. */
export const MAX_ANNOUNCE_DATAGRAM = 1400;
/** Longest single line (a 253-byte host, a 64-hex id, a 64-byte handle and a scope fit well under it). */
export const MAX_ANNOUNCE_LINE = 512;
/** Lines read from one datagram; the rest are refused as E_ANNOUNCE_TOO_MANY_LINES. */
export const MAX_ANNOUNCE_LINES = 32;
/** The swarm peer port when no presence line names another. */
export const DEFAULT_PEER_PORT = 1531;

export const ANNOUNCE_REFUSAL_CODES = [
  'E_ANNOUNCE_OVERSIZE',
  'E_ANNOUNCE_TOO_MANY_LINES',
  'E_ANNOUNCE_NOT_ASCII',
  'E_ANNOUNCE_UNKNOWN_KIND',
  'E_ANNOUNCE_FIELDS',
  'E_ANNOUNCE_HOST',
  'E_ANNOUNCE_PROJECT_ID',
  'E_ANNOUNCE_HANDLE',
  'E_ANNOUNCE_SCOPE',
  'E_ANNOUNCE_ENVOY_ID',
  'E_ANNOUNCE_PORT',
] as const;
export type AnnounceRefusalCode = (typeof ANNOUNCE_REFUSAL_CODES)[number];

export interface ProjectAnnounce {
  kind: 'project';
  host: string;
  projectId: Hex;
  /** null on the old 2-field line */
  handle: string | null;
  /** null on the old 2-field line: the sender did not say */
  scope: Scope | null;
}

export interface EnvoyAnnounce {
  kind: 'envoy';
  host: string;
  envoyId: string;
  port: number;
}

export type Announce = ProjectAnnounce | EnvoyAnnounce;

export interface AnnounceRefusal {
  code: AnnounceRefusalCode;
  message: string;
}

export type AnnounceLineResult = { ok: true; announce: Announce } | ({ ok: false } & AnnounceRefusal);

const PROJECT_TAG = 'GITBACKPROJECT';
const ENVOY_TAG = 'VIGOENVOY';
// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, or a
// dotted IPv4 address (which the same pattern admits). No colons, so no IPv6 literals.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
// The enrollment server names envoys with a random UUID (src/server/rest/enroll.ts).
const ENVOY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PORT = /^[1-9][0-9]{0,4}$/;

export function isAnnounceHost(host: string): boolean {
  return typeof host === 'string' && host.length <= 253 && HOST.test(host);
}

function refuse(code: AnnounceRefusalCode, message: string): AnnounceLineResult {
  return { ok: false, code, message };
}

const show = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);

/** Parses one line (without its "\n"). Never throws. */
export function parseAnnounceLine(line: string): AnnounceLineResult {
  if (line.length > MAX_ANNOUNCE_LINE) return refuse('E_ANNOUNCE_OVERSIZE', `line of ${line.length} bytes (at most ${MAX_ANNOUNCE_LINE})`);
  if (!/^[\x21-\x7e]*$/.test(line)) return refuse('E_ANNOUNCE_NOT_ASCII', 'line holds bytes outside printable ASCII');
  const f = line.split(':');
  const host = f[1] ?? '';
  if (f[0] === PROJECT_TAG) {
    if (f.length !== 3 && f.length !== 5) return refuse('E_ANNOUNCE_FIELDS', `${PROJECT_TAG} line has ${f.length} fields (expected 3 or 5)`);
    if (!isAnnounceHost(host)) return refuse('E_ANNOUNCE_HOST', `not a host name: ${show(host)}`);
    const pid = f[2]!;
    if (!isHex64(pid)) return refuse('E_ANNOUNCE_PROJECT_ID', `not a project id (64 lowercase hex): ${show(pid)}`);
    if (f.length === 3) return { ok: true, announce: { kind: 'project', host, projectId: pid, handle: null, scope: null } };
    const handle = f[3]!;
    if (!isValidHandle(handle)) return refuse('E_ANNOUNCE_HANDLE', `not a project handle: ${show(handle)}`);
    const scope = f[4]!;
    if (scope !== 'swarm-wide' && scope !== 'members-only') return refuse('E_ANNOUNCE_SCOPE', `dr_scope must be swarm-wide or members-only, got ${show(scope)}`);
    return { ok: true, announce: { kind: 'project', host, projectId: pid, handle, scope } };
  }
  if (f[0] === ENVOY_TAG) {
    if (f.length !== 4) return refuse('E_ANNOUNCE_FIELDS', `${ENVOY_TAG} line has ${f.length} fields (expected 4)`);
    if (!isAnnounceHost(host)) return refuse('E_ANNOUNCE_HOST', `not a host name: ${show(host)}`);
    const envoyId = f[2]!;
    if (!ENVOY_ID.test(envoyId)) return refuse('E_ANNOUNCE_ENVOY_ID', `not an envoy id (a lowercase UUID): ${show(envoyId)}`);
    const port = f[3]!;
    if (!PORT.test(port) || Number(port) > 65535) return refuse('E_ANNOUNCE_PORT', `not a port (1-65535): ${show(port)}`);
    return { ok: true, announce: { kind: 'envoy', host, envoyId, port: Number(port) } };
  }
  return refuse('E_ANNOUNCE_UNKNOWN_KIND', `unknown announce line kind ${show(f[0] ?? '')}`);
}

export interface ParsedDatagram {
  announces: Announce[];
  refused: AnnounceRefusal[];
}

/**
 * Parses one datagram. An oversized datagram is refused whole (one refusal); otherwise each
 * line is parsed on its own, empty lines are skipped, and lines past MAX_ANNOUNCE_LINES are
 * refused together as one E_ANNOUNCE_TOO_MANY_LINES.
 */
export function parseAnnounceDatagram(data: Uint8Array): ParsedDatagram {
  if (data.length > MAX_ANNOUNCE_DATAGRAM) {
    return { announces: [], refused: [{ code: 'E_ANNOUNCE_OVERSIZE', message: `datagram of ${data.length} bytes (at most ${MAX_ANNOUNCE_DATAGRAM})` }] };
  }
  // latin1 maps each byte to one code unit, so a non-ASCII byte stays visible to the line check.
  const lines = Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1').split('\n').filter((l) => l !== '');
  const out: ParsedDatagram = { announces: [], refused: [] };
  for (const line of lines.slice(0, MAX_ANNOUNCE_LINES)) {
    const r = parseAnnounceLine(line);
    if (r.ok) out.announces.push(r.announce);
    else out.refused.push({ code: r.code, message: r.message });
  }
  if (lines.length > MAX_ANNOUNCE_LINES) {
    out.refused.push({ code: 'E_ANNOUNCE_TOO_MANY_LINES', message: `${lines.length - MAX_ANNOUNCE_LINES} lines past the first ${MAX_ANNOUNCE_LINES} ignored` });
  }
  return out;
}

/** The line for one announce; throws RangeError on a value the parser would refuse. */
export function encodeAnnounceLine(a: Announce): string {
  let line: string;
  if (a.kind === 'project') {
    line = a.handle === null || a.scope === null ? `${PROJECT_TAG}:${a.host}:${a.projectId}` : `${PROJECT_TAG}:${a.host}:${a.projectId}:${a.handle}:${a.scope}`;
    if (a.handle === null !== (a.scope === null)) throw new RangeError('a project announce has both handle and scope, or neither (the old 2-field line)');
  } else {
    line = `${ENVOY_TAG}:${a.host}:${a.envoyId}:${a.port}`;
  }
  const back = parseAnnounceLine(line);
  if (!back.ok) throw new RangeError(`cannot announce ${show(line)}: ${back.code} ${back.message}`);
  return line;
}

/** Packs announces into as few datagrams as fit MAX_ANNOUNCE_DATAGRAM (and MAX_ANNOUNCE_LINES). */
export function encodeAnnounceDatagrams(announces: readonly Announce[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let cur: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (cur.length > 0) out.push(new Uint8Array(Buffer.from(cur.join('\n') + '\n', 'ascii')));
    cur = [];
    size = 0;
  };
  for (const a of announces) {
    const line = encodeAnnounceLine(a);
    if (size + line.length + 1 > MAX_ANNOUNCE_DATAGRAM || cur.length === MAX_ANNOUNCE_LINES) flush();
    cur.push(line);
    size += line.length + 1;
  }
  flush();
  return out;
}
