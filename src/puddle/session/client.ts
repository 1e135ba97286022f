/** Talking to the session helper: one request per connection, one answer line back. */
import { connect } from 'node:net';
import { existsSync, unlinkSync, readFileSync } from 'node:fs';
import { VigoError } from '../../platform/errors.js';
import { LineFramer } from '../../wire/lines.js';
import { puddlePath } from '../layout.js';
import { MAX_LINE_BYTES, type Answer, type Request, type StatusAnswer } from './protocol.js';

export const UNLOCK_HINT = 'run `vigo swarm puddle unlock`';

export class NoSession extends Error {}

/** Sends one request. Rejects with NoSession when nobody listens on the socket. */
export function request(sockPath: string, req: Request, timeoutMs = 5000): Promise<Answer> {
  return lineRequest<Answer>(sockPath, req, timeoutMs, 'the session helper', 'a puddle session serves only the user who owns it');
}

/**
 * One JSON request line to a key helper's socket, its one answer line back (parsed, not
 * checked: the caller's wire parser does that). Rejects with NoSession when nobody listens.
 */
export function lineRequest<A>(sockPath: string, req: object, timeoutMs: number, what: string, deniedHint: string, maxLineBytes = MAX_LINE_BYTES): Promise<A> {
  return new Promise((resolve, reject) => {
    const sock = connect(sockPath);
    const lines = new LineFramer(maxLineBytes, `${what}'s answer`);
    let done = false;
    const finish = (err: Error | null, a?: A) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      if (err) reject(err);
      else resolve(a as A);
    };
    const t = setTimeout(() => finish(new VigoError('E_PUDDLE_SESSION', `${what} at ${sockPath} did not answer in ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: Buffer) => {
      lines.push(c);
      try {
        const line = lines.next();
        if (line !== null) finish(null, JSON.parse(line) as A);
      } catch {
        finish(new VigoError('E_PUDDLE_SESSION', `${what} at ${sockPath} sent a malformed answer`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') return finish(new NoSession(e.code));
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        return finish(new VigoError('E_PUDDLE_SOCKET_DENIED', `permission denied on ${sockPath}`, { hint: deniedHint }));
      }
      finish(new VigoError('E_PUDDLE_SESSION', `cannot reach ${what} at ${sockPath}: ${e.message}`));
    });
    sock.on('end', () => finish(new VigoError('E_PUDDLE_SESSION', `${what} at ${sockPath} closed the connection without answering`)));
  });
}

/** STATUS of the running helper, or null when none answers (locked). */
export async function sessionStatus(dir: string, timeoutMs = 5000): Promise<StatusAnswer | null> {
  try {
    const a = await request(puddlePath(dir, 'socket'), { op: 'STATUS' }, timeoutMs);
    if (a.ok && 'unlocked' in a) return a;
    if (!a.ok) throw new VigoError(a.code, `session helper: ${a.message}`);
    return null;
  } catch (e) {
    if (e instanceof NoSession) return null;
    throw e;
  }
}

/** Removes session files a dead helper left behind (kill -9, reboot). */
export function removeStaleSessionFiles(dir: string): boolean {
  let removed = false;
  for (const f of ['socket', 'unlocked'] as const) {
    const p = puddlePath(dir, f);
    if (existsSync(p)) {
      try {
        unlinkSync(p);
        removed = true;
      } catch {
        /* raced with someone else */
      }
    }
  }
  return removed;
}

export function readUnlockedPid(dir: string): number | null {
  try {
    const f = JSON.parse(readFileSync(puddlePath(dir, 'unlocked'), 'utf8')) as { pid?: unknown };
    return typeof f.pid === 'number' ? f.pid : null;
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Asks the helper to lock and waits until it is gone. False when none was running. */
export async function lockSession(dir: string, waitMs = 5000): Promise<boolean> {
  const sockPath = puddlePath(dir, 'socket');
  const pid = readUnlockedPid(dir);
  let a: Answer;
  try {
    a = await request(sockPath, { op: 'LOCK' });
  } catch (e) {
    if (e instanceof NoSession) {
      removeStaleSessionFiles(dir);
      return false;
    }
    throw e;
  }
  if (!a.ok) throw new VigoError(a.code, `session helper refused to lock: ${a.message}`);
  // gone means its socket removed and its process exited, so a helper started next (rekey's
  // refresh) can never have its files removed by this one
  const deadline = Date.now() + waitMs;
  const running = () => existsSync(sockPath) || (pid !== null && pidAlive(pid));
  while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (existsSync(sockPath)) {
    throw new VigoError('E_PUDDLE_SESSION', `the session helper${pid !== null ? ` (pid ${pid})` : ''} accepted LOCK but still serves ${sockPath} after ${waitMs} ms`, {
      hint: `see ${puddlePath(dir, 'log')}; \`vigo swarm puddle lock\` again, or stop that process`,
    });
  }
  return true;
}
