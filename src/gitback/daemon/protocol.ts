/**
 * The helper daemon's socket protocol (see docs/gitback.md). The client sends ONE request
 * line (JSON, ≤ 64 KiB, '\n'-terminated); the daemon answers ONE response line. For
 * `connect`, an ok answer turns the socket into a raw byte pipe to git upload-pack /
 * receive-pack. Nothing in a request says who the caller is: the daemon asks the kernel.
 * Pure: parsing and encoding only.
 */
import { LineFramer } from '../../wire/lines.js';
import { VigoError } from '../../platform/errors.js';
import type { RevocationSet } from '../../trust/index.js';

export const MAX_REQUEST_BYTES = 64 * 1024;
export const GIT_SERVICES = ['git-upload-pack', 'git-receive-pack'] as const;
export type GitService = (typeof GIT_SERVICES)[number];

export type DaemonRequest =
  | { v: 1; op: 'connect'; service: GitService; project_id: string; handle: string; git_protocol: string | null }
  | { v: 1; op: 'status' }
  | { v: 1; op: 'migrate'; from: string; to: string }
  | { v: 1; op: 'retired'; project_id: string }
  | { v: 1; op: 'bind' }
  | { v: 1; op: 'unbind' }
  | { v: 1; op: 'push-manifest'; push_id: string }
  /** root only: hand what reached a bare repo outside a receive (a file:// push by root) to replication */
  | { v: 1; op: 'replicate'; project_id: string };

/** A push's id, given in the ok answer to a git-receive-pack connect (32 lowercase hex). */
const PUSH_ID = /^[0-9a-f]{32}$/;
/** Largest `push-signed` line: a manifest of MAX_MANIFEST_REFS refs fits. */
export const MAX_SIGNED_LINE_BYTES = 512 * 1024;
/** Most acknowledgements `-o replicas=N` may ask for. */
export const MAX_REPLICAS_WANTED = 1024;

/** The second line of a push-manifest exchange: the manifest the daemon handed out, signed. */
export interface PushSignedLine {
  v: 1;
  op: 'push-signed';
  manifest: unknown;
  /** `-o replicas=N`: wait for N acknowledgements (null: the short report) */
  replicas: number | null;
}

/** At most this many entries in a `retired` answer (a project's revokes and leaves). */
export const MAX_RETIRED_ENTRIES = 10_000;

/** One token that no longer holds, in a `retired` answer. */
export interface RetiredEntry {
  token_id: string;
  why: 'revoked' | 'left';
  reason: string | null;
}

/** The second line of a bind exchange (after the daemon's challenge). */
export interface BindProofLine {
  v: 1;
  op: 'bind-proof';
  proof: unknown;
}

export type DaemonResponse =
  | { ok: true; status?: unknown }
  | { ok: false; code: string; message: string; hint?: string };

const HEX64 = /^[0-9a-f]{64}$/;
const GIT_PROTOCOL = /^[A-Za-z0-9=:.,_-]{0,100}$/;

function bad(msg: string): VigoError {
  return new VigoError('E_BAD_REQUEST', `bad request: ${msg}`);
}

/** One request line as a JSON object, or E_BAD_REQUEST naming what it is instead. */
function parseObjectLine(line: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw bad(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}

export function parseRequest(line: string): DaemonRequest {
  const o = parseObjectLine(line, 'request');
  if (o.v !== 1) throw bad('field v must be 1');
  if (o.op === 'status') {
    if (Object.keys(o).some((k) => k !== 'v' && k !== 'op')) throw bad('unknown field in status request');
    return { v: 1, op: 'status' };
  }
  if (o.op === 'bind') {
    if (Object.keys(o).some((k) => k !== 'v' && k !== 'op')) throw bad('unknown field in bind request');
    return { v: 1, op: 'bind' };
  }
  if (o.op === 'unbind') {
    if (Object.keys(o).some((k) => k !== 'v' && k !== 'op')) throw bad('unknown field in unbind request');
    return { v: 1, op: 'unbind' };
  }
  if (o.op === 'push-manifest') {
    if (Object.keys(o).some((k) => !['v', 'op', 'push_id'].includes(k))) throw bad('unknown field in push-manifest request');
    if (typeof o.push_id !== 'string' || !PUSH_ID.test(o.push_id)) throw bad('field push_id must be 32 lowercase hex');
    return { v: 1, op: 'push-manifest', push_id: o.push_id };
  }
  if (o.op === 'migrate') {
    if (Object.keys(o).some((k) => !['v', 'op', 'from', 'to'].includes(k))) throw bad('unknown field in migrate request');
    if (typeof o.from !== 'string' || !HEX64.test(o.from)) throw bad('field from must be 64 lowercase hex');
    if (typeof o.to !== 'string' || !HEX64.test(o.to) || o.to === o.from) throw bad('field to must be 64 lowercase hex, not from');
    return { v: 1, op: 'migrate', from: o.from, to: o.to };
  }
  if (o.op === 'retired') {
    if (Object.keys(o).some((k) => !['v', 'op', 'project_id'].includes(k))) throw bad('unknown field in retired request');
    if (typeof o.project_id !== 'string' || !HEX64.test(o.project_id)) throw bad('field project_id must be 64 lowercase hex');
    return { v: 1, op: 'retired', project_id: o.project_id };
  }
  if (o.op === 'replicate') {
    if (Object.keys(o).some((k) => !['v', 'op', 'project_id'].includes(k))) throw bad('unknown field in replicate request');
    if (typeof o.project_id !== 'string' || !HEX64.test(o.project_id)) throw bad('field project_id must be 64 lowercase hex');
    return { v: 1, op: 'replicate', project_id: o.project_id };
  }
  if (o.op !== 'connect') throw bad(`unknown op ${JSON.stringify(o.op)}`);
  for (const k of Object.keys(o)) {
    if (!['v', 'op', 'service', 'project_id', 'handle', 'git_protocol'].includes(k)) throw bad(`unknown field '${k}'`);
  }
  if (!(GIT_SERVICES as readonly unknown[]).includes(o.service)) throw bad(`field service must be one of ${GIT_SERVICES.join(', ')}`);
  if (typeof o.project_id !== 'string' || !HEX64.test(o.project_id)) throw bad('field project_id must be 64 lowercase hex');
  if (typeof o.handle !== 'string' || o.handle.length === 0 || o.handle.length > 64) throw bad('field handle must be a string of 1-64 chars');
  const gp = o.git_protocol ?? null;
  if (gp !== null && (typeof gp !== 'string' || !GIT_PROTOCOL.test(gp))) throw bad('field git_protocol is not a valid GIT_PROTOCOL value');
  return { v: 1, op: 'connect', service: o.service as GitService, project_id: o.project_id, handle: o.handle, git_protocol: gp };
}

/** A `retired` answer's list: revokes first, then leaves not also revoked, at most MAX_RETIRED_ENTRIES. */
export function retiredEntries(set: RevocationSet): RetiredEntry[] {
  const out: RetiredEntry[] = [];
  for (const [token_id, reason] of set.revoked) out.push({ token_id, why: 'revoked', reason });
  for (const [token_id, reason] of set.left) if (!set.revoked.has(token_id)) out.push({ token_id, why: 'left', reason });
  return out.slice(0, MAX_RETIRED_ENTRIES);
}

export function parseBindProofLine(line: string): BindProofLine {
  const o = parseObjectLine(line, 'bind proof');
  if (o.v !== 1 || o.op !== 'bind-proof' || Object.keys(o).some((k) => !['v', 'op', 'proof'].includes(k))) throw bad('expected {"v":1,"op":"bind-proof","proof":{…}}');
  return { v: 1, op: 'bind-proof', proof: o.proof };
}

export function parsePushSignedLine(line: string): PushSignedLine {
  const o = parseObjectLine(line, 'signed manifest');
  if (o.v !== 1 || o.op !== 'push-signed' || Object.keys(o).some((k) => !['v', 'op', 'manifest', 'replicas'].includes(k))) {
    throw bad('expected {"v":1,"op":"push-signed","manifest":{…},"replicas":N|null}');
  }
  const r = o.replicas ?? null;
  if (r !== null && (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > MAX_REPLICAS_WANTED)) throw bad(`field replicas must be null or an integer 1-${MAX_REPLICAS_WANTED}`);
  return { v: 1, op: 'push-signed', manifest: o.manifest, replicas: r };
}

export function encodeLine(v: DaemonRequest | DaemonResponse | BindProofLine | PushSignedLine): string {
  return JSON.stringify(v) + '\n';
}

export function parseResponse(line: string): DaemonResponse {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new VigoError('E_DAEMON_PROTOCOL', 'the gitback helper daemon sent a response that is not JSON');
  }
  if (typeof v !== 'object' || v === null || typeof (v as { ok?: unknown }).ok !== 'boolean') {
    throw new VigoError('E_DAEMON_PROTOCOL', 'the gitback helper daemon sent a malformed response');
  }
  const o = v as Record<string, unknown>;
  if (o.ok === true) return { ok: true, status: o.status };
  return {
    ok: false,
    code: typeof o.code === 'string' ? o.code : 'E_REFUSED',
    message: typeof o.message === 'string' ? o.message : 'refused',
    ...(typeof o.hint === 'string' ? { hint: o.hint } : {}),
  };
}

/**
 * Reads exactly one '\n'-terminated line from a stream, returning it and any bytes that
 * arrived after it (they belong to the raw pipe that follows).
 */
export function readLine(
  stream: NodeJS.ReadableStream,
  maxBytes: number = MAX_REQUEST_BYTES,
): Promise<{ line: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const framer = new LineFramer(maxBytes, 'request line');
    const cleanup = () => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      framer.push(chunk);
      let line: string | null;
      try {
        line = framer.next();
      } catch (e) {
        cleanup();
        return reject(e);
      }
      if (line !== null) {
        cleanup();
        stream.pause();
        resolve({ line, rest: framer.flush() });
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new VigoError('E_DAEMON_PROTOCOL', 'connection closed before a complete line arrived'));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.resume();
  });
}
