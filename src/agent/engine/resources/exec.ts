import { spawn } from 'node:child_process';
import { lstatOrNull, type ApplyContext, type Outcome } from '../context.js';
import { DEFAULT_TIMEOUT_S } from '../../../wire/bundle-schema.js';
import type { ExecResource } from '../../../wire/bundle.js';

export interface ShellResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stderrTail: string;
  stdoutTail: string;
}

const TAIL_BYTES = 4096;

/**
 * `/bin/sh -c command` in its own process group, so a timeout kills the whole tree
 * (a shell's children included), with stdin closed and the last few KB of output kept.
 */
export function runShell(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (tail: Buffer, b: Buffer): Buffer => {
      const all = Buffer.concat([tail, b]);
      return all.length > TAIL_BYTES ? all.subarray(all.length - TAIL_BYTES) : all;
    };
    let tail: Buffer = Buffer.alloc(0);
    let out: Buffer = Buffer.alloc(0);
    let timedOut = false;
    child.stderr.on('data', (b: Buffer) => (tail = keep(tail, b)));
    child.stdout.on('data', (b: Buffer) => (out = keep(out, b)));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stderrTail: tail.toString('utf8'), stdoutTail: out.toString('utf8') });
    });
  });
}

/** The last few lines of stderr, on one line, for a report message. */
export function stderrSummary(s: string): string {
  const lines = s.trim().split('\n').slice(-3).join(' | ');
  return lines.length > 300 ? '…' + lines.slice(-300) : lines;
}

function failure(what: string, r: ShellResult, timeoutS: number): string {
  if (r.timedOut) return `${what} timed out after ${timeoutS}s and was killed`;
  const how = r.code !== null ? `exited ${r.code}` : `was killed by ${r.signal ?? 'a signal'}`;
  // many tools report errors on stdout: use it when stderr is empty
  const err = stderrSummary(r.stderrTail.trim() !== '' ? r.stderrTail : r.stdoutTail);
  return err === '' ? `${what} ${how}` : `${what} ${how}: ${err}`;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PASSED_THROUGH = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

/**
 * A small, known environment: the agent's own (which may hold passphrases or tokens)
 * is not handed to operator commands. VIGO_FSROOT names the envoy root, so a command can
 * reach envoy paths under VIGO_ROOT; commands are not confined to it (see docs).
 */
export function commandEnv(fsRoot: string, hostEnv: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of PASSED_THROUGH) if (hostEnv[k] !== undefined) env[k] = hostEnv[k];
  env['PATH'] ??= DEFAULT_PATH;
  env['VIGO_FSROOT'] = fsRoot;
  return env;
}

export async function applyExec(r: ExecResource, ctx: ApplyContext): Promise<Outcome> {
  const timeoutS = r.timeout_s ?? DEFAULT_TIMEOUT_S;
  if (r.creates !== undefined && r.creates !== null) {
    const host = ctx.sandbox.resolveForRead(r.creates, 'creates');
    if (lstatOrNull(host) !== null) return { status: 'ok', message: `skipped: ${r.creates} exists` };
  }
  const run = { cwd: ctx.sandbox.root, env: commandEnv(ctx.sandbox.root, ctx.hostEnv), timeoutMs: timeoutS * 1000 };
  if (r.unless !== undefined && r.unless !== null) {
    const g = await runShell(r.unless, run);
    if (g.timedOut) throw new Error(failure('unless guard', g, timeoutS));
    if (g.code === 0) return { status: 'ok', message: 'skipped: unless guard succeeded' };
  }
  if (ctx.dryRun) return { status: 'changed', message: '(dry run) would run the command' };
  const res = await runShell(r.command, run);
  if (res.timedOut || res.code !== 0) throw new Error(failure('command', res, timeoutS));
  if (r.creates !== undefined && r.creates !== null && lstatOrNull(ctx.sandbox.resolveForRead(r.creates, 'creates')) === null) {
    // not a failure, but the next run will run it again: say so
    return { status: 'changed', message: `ran (exit 0), but ${r.creates} still does not exist, so it will run again` };
  }
  return { status: 'changed', message: 'ran (exit 0)' };
}
