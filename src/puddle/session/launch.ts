/**
 * Starting the session helper: a separate node process, detached from the terminal
 * (its own session, no controlling tty, stdio not shared), handed the key over a pipe.
 */
import { spawn } from 'node:child_process';
import { closeSync, fchmodSync, openSync, readFileSync, renameSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { VigoError } from '../../platform/errors.js';
import { processStartTime } from '../lock.js';
import { PRIVATE_MODE, puddlePath } from '../layout.js';

export interface LaunchOptions {
  idleTimeoutS: number;
  /** pid whose exit locks the session; null for none */
  watchPid: number | null;
  /** the entry point's environment (the helper gets a cleaned copy) */
  env: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

/** Only what the helper needs; in particular never VIGO_PUDDLE_PASSPHRASE. */
function helperEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'VIGO_ROOT']) if (env[k] !== undefined) out[k] = env[k];
  return out;
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '';
  }
}

/** Keeps session.log bounded: past 1 MiB it becomes session.log.1 (one generation kept). */
export function rotateLog(path: string, maxBytes = 1024 * 1024): void {
  try {
    if (statSync(path).size > maxBytes) renameSync(path, `${path}.1`);
  } catch {
    /* no log yet */
  }
}

/** Spawns the helper with `seed` (zeroed here once handed over). Resolves with its pid. */
export async function launchSession(dir: string, seed: Uint8Array, opts: LaunchOptions): Promise<number> {
  const helper = fileURLToPath(new URL('./helper-main.js', import.meta.url));
  const watchStart = opts.watchPid === null ? null : processStartTime(opts.watchPid);
  const args = ['--dir', dir, '--idle-timeout-s', String(opts.idleTimeoutS), '--watch-pid', String(opts.watchPid ?? 0)];
  if (watchStart !== null) args.push('--watch-start', watchStart);
  return spawnKeyHelper(helper, args, { logPath: puddlePath(dir, 'log'), env: opts.env, stdin: seed, readyTimeoutMs: opts.readyTimeoutMs ?? 15_000, what: 'the session helper', code: 'E_PUDDLE_SESSION' });
}

export interface SpawnOptions {
  /** its stderr, appended (0600, rotated past 1 MiB) */
  logPath: string;
  env: NodeJS.ProcessEnv;
  /** bytes handed over stdin (zeroed here once handed over), or null for none */
  stdin: Uint8Array | null;
  readyTimeoutMs: number;
  what: string;
  code: string;
}

/**
 * Starts a key helper (the user session helper, the vigosrv service-account helper): a
 * detached node process (own session, no tty, stdio not shared, a cleaned environment)
 * running `entry args…`, which prints READY on stdout once serving. Resolves with its pid.
 */
export async function spawnKeyHelper(entry: string, argv: string[], opts: SpawnOptions): Promise<number> {
  const logPath = opts.logPath;
  rotateLog(logPath);
  const logFd = openSync(logPath, 'a', PRIVATE_MODE);
  fchmodSync(logFd, PRIVATE_MODE);
  const args = [entry, ...argv];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['pipe', 'pipe', logFd],
    cwd: '/',
    env: helperEnv(opts.env),
  });
  closeSync(logFd);
  const copy = Buffer.from(opts.stdin ?? new Uint8Array(0));
  opts.stdin?.fill(0);
  child.stdin?.on('error', () => undefined); // a helper that died early is reported below
  child.stdin?.end(copy, () => copy.fill(0));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error('timed out')), opts.readyTimeoutMs);
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (c: string) => {
        out += c;
        if (out.includes('READY\n')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on('exit', (code, sig) => {
        clearTimeout(t);
        reject(new Error(`exited (${sig ?? code})`));
      });
      child.on('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  } catch (e) {
    copy.fill(0);
    if (child.exitCode === null) child.kill('SIGKILL');
    const tail = logTail(logPath);
    throw new VigoError(opts.code, `${opts.what} did not start: ${(e as Error).message}${tail ? ` (${tail})` : ''}`, {
      hint: `see ${logPath}`,
    });
  }
  child.stdout?.destroy();
  child.removeAllListeners();
  child.unref();
  return child.pid as number;
}
