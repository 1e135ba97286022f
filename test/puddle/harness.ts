/** Running the real `vigo` binary against a throwaway HOME, and cleaning up after it. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vigoBin } from '../helpers/program.js';
import { assignSwarm } from '../helpers/swarm-assignment.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const VIGO = vigoBin;
export const PASS = 'correct horse battery';

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Every stdout/stderr a test saw, for the key-leak scan. */
export const transcript: string[] = [];

let envoyRoot: string | null = null;
/**
 * The envoy the puddle verbs run on: a VIGO_ROOT whose swarm assignment opens the puddle
 * gate (as a check-in to a server.yaml with swarm.enabled and swarm.puddle.enabled would).
 */
export function puddleEnvoyRoot(): string {
  if (envoyRoot === null) {
    const root = mkdtempSync(join(tmpdir(), 'vgt-puddle-envoy-'));
    chmodSync(root, 0o755); // test users reach the assignment file through it
    assignSwarm(root);
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
    envoyRoot = root;
  }
  return envoyRoot;
}

export function vigo(home: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; uid?: number; gid?: number } = {}): Run {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [VIGO, 'swarm', 'puddle', ...args], {
    encoding: 'utf8',
    cwd: home,
    input: opts.input ?? '',
    timeout: 60_000,
    env: { PATH: process.env.PATH, HOME: home, VIGO_ROOT: puddleEnvoyRoot(), ...opts.env },
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid }),
  });
  transcript.push(r.stdout ?? '', r.stderr ?? '');
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function ok(r: Run): Run {
  if (r.status !== 0) throw new Error(`vigo exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r;
}

export function withPass(pass = PASS): { env: NodeJS.ProcessEnv } {
  return { env: { VIGO_PUDDLE_PASSPHRASE: pass } };
}

export function tempHome(prefix = 'vgt-puddle-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function helperPid(home: string): number | null {
  try {
    return (JSON.parse(readFileSync(join(home, '.vigo-puddle', 'session.unlocked'), 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Locks any session the test started (by its pid) and removes the temp HOME. */
export function cleanupHome(home: string, extraPids: number[] = []): void {
  const pid = helperPid(home);
  for (const p of [...(pid === null ? [] : [pid]), ...extraPids]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(home, { recursive: true, force: true });
}

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
