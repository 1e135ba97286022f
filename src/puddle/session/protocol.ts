/**
 * The session helper's wire protocol on ~/.vigo-puddle/session.sock: one JSON object per
 * line each way. Requests: {"op":"STATUS"}, {"op":"SIGN","msg":"<base64>"}, {"op":"LOCK"}.
 * Answers: {"ok":true,…} or {"ok":false,"code":…,"message":…}. Nothing in a request says
 * who the caller is: the helper asks the kernel (SO_PEERCRED).
 */
import { requestFields } from '../../wire/lines.js';

export const MAX_LINE_BYTES = 4 * 1024 * 1024;

export type Request = { op: 'STATUS' } | { op: 'SIGN'; msg: string } | { op: 'LOCK' };

export interface StatusAnswer {
  ok: true;
  unlocked: true;
  pubkey: string;
  pid: number;
  idle_timeout_s: number;
  idle_left_s: number;
  watch_pid: number | null;
  unlocked_at: number;
}

export interface SignAnswer {
  ok: true;
  sig: string;
}

export interface ErrorAnswer {
  ok: false;
  code: string;
  message: string;
}

export type Answer = StatusAnswer | SignAnswer | { ok: true; locking: true } | ErrorAnswer;

export function parseRequest(line: string): Request | ErrorAnswer {
  const f = requestFields(line);
  if ('ok' in f) return f;
  const { o, keys } = f;
  if (o.op === 'STATUS' && keys === 'op') return { op: 'STATUS' };
  if (o.op === 'LOCK' && keys === 'op') return { op: 'LOCK' };
  if (o.op === 'SIGN' && keys === 'msg,op' && typeof o.msg === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(o.msg)) {
    return { op: 'SIGN', msg: o.msg };
  }
  return { ok: false, code: 'E_BAD_REQUEST', message: 'unknown request (expected STATUS, SIGN with msg, or LOCK)' };
}
