// Running the real CLI and git as real test users against one envoy (VIGO_ROOT).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestUser, removeTestUser, runAs, type TestUser } from '../helpers/users.js';
import { startAgent, type Agent } from './harness.js';
import { pathWithProgram, vigoBin } from '../helpers/program.js';
import { run, type RunResult } from './proc.js';
import { assignSwarm } from '../helpers/swarm-assignment.js';

export const PASSPHRASE = 'correct horse battery staple, gitback e2e';

export interface Envoy {
  root: string;
}

/** A VIGO_ROOT users can traverse (the socket and usercrate policy live under it). */
export function makeEnvoyRoot(dir: string): Envoy {
  const root = join(dir, 'envoy');
  for (const d of ['', 'var', 'var/lib', 'var/lib/vigo', 'var/lib/vigo/usercrate-policy', 'var/run', 'var/run/vigo']) {
    mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, d), 0o755);
  }
  chmodSync(dir, 0o755);
  assignSwarm(root);
  return { root };
}

export function grantGitback(envoy: Envoy, u: TestUser, on = true): void {
  writeFileSync(join(envoy.root, 'var/lib/vigo/usercrate-policy', `${u.name}.json`), JSON.stringify({ user: u.name, puddle: true, gitback: on }) + '\n', { mode: 0o644 });
}

export function userExtraEnv(envoy: Envoy, u: TestUser): NodeJS.ProcessEnv {
  return {
    VIGO_ROOT: envoy.root,
    PATH: pathWithProgram(),
    VIGO_PUDDLE_PASSPHRASE: PASSPHRASE,
    GIT_AUTHOR_NAME: u.name,
    GIT_AUTHOR_EMAIL: `${u.name}@example.test`,
    GIT_COMMITTER_NAME: u.name,
    GIT_COMMITTER_EMAIL: `${u.name}@example.test`,
    GIT_CONFIG_NOSYSTEM: '1',
  };
}

export interface Sh {
  vigo(args: string[], opts?: { cwd?: string; input?: string }): RunResult;
  git(args: string[], opts?: { cwd?: string; input?: string }): RunResult;
  /** async (for things that must run at the same time) */
  gitAsync(args: string[], opts?: { cwd?: string }): Promise<RunResult>;
}

export function as(envoy: Envoy, u: TestUser): Sh {
  const extraEnv = userExtraEnv(envoy, u);
  const wrap = (r: ReturnType<typeof runAs>): RunResult => ({ status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') });
  return {
    vigo: (args, o = {}) => wrap(runAs(u, process.execPath, [vigoBin, ...args], { extraEnv, cwd: o.cwd ?? u.home, input: o.input ?? '', timeout: 60_000 })),
    git: (args, o = {}) => wrap(runAs(u, 'git', args, { extraEnv, cwd: o.cwd ?? u.home, input: o.input ?? '', timeout: 60_000 })),
    gitAsync: (args, o = {}) =>
      run('git', args, {
        cwd: o.cwd ?? u.home,
        env: { PATH: process.env.PATH, HOME: u.home, USER: u.name, LOGNAME: u.name, LANG: 'C.UTF-8', ...extraEnv },
        uid: u.uid,
        gid: u.gid,
        timeoutMs: 60_000,
      }),
  };
}

export function ok(r: RunResult, what: string): RunResult {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** A git work tree in the user's home with one commit (README), owned by the user. */
export function workTreeWithCommit(sh: Sh, u: TestUser, name: string, message: string): string {
  const work = join(u.home, name);
  ok(sh.git(['init', '-q', '-b', 'main', work]), 'git init');
  writeFileSync(join(work, 'README'), `${name}\n`);
  chownSync(join(work, 'README'), u.uid, u.gid);
  ok(sh.git(['add', 'README'], { cwd: work }), 'git add');
  ok(sh.git(['commit', '-qm', message], { cwd: work }), 'git commit');
  return work;
}

/** puddle init + unlock for a user, returning its pubkey hex. */
export function setupPuddle(sh: Sh): string {
  ok(sh.vigo(['swarm', 'puddle', 'init']), 'puddle init');
  ok(sh.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', '0']), 'puddle unlock');
  const pk = ok(sh.vigo(['swarm', 'puddle', 'pubkey']), 'puddle pubkey').stdout.trim();
  return pk.replace(/^ed25519:/, '');
}

export interface TwoUserEnvoy {
  dir: string;
  envoy: Envoy;
  agent: Agent;
  ua: TestUser;
  ub: TestUser;
  A: Sh;
  B: Sh;
}

/**
 * A temp dir, an envoy root, a running agent and two fresh Unix users with their shells;
 * everything is undone by `after` (puddles locked, agent stopped, users and dir removed).
 */
export async function twoUserEnvoy(tag: string, sweepIntervalS: number, gitback: Record<string, unknown> = {}): Promise<TwoUserEnvoy> {
  const dir = mkdtempSync(join(tmpdir(), `vgt-${tag}-`));
  const users: TestUser[] = [];
  const shells: Sh[] = [];
  let agent: Agent | null = null;
  after(async () => {
    for (const sh of shells) sh.vigo(['swarm', 'puddle', 'lock']);
    await agent?.stop();
    for (const u of users) removeTestUser(u);
    rmSync(dir, { recursive: true, force: true });
  });
  const envoy = makeEnvoyRoot(dir);
  const ua = createTestUser(`${tag}a`);
  users.push(ua);
  const ub = createTestUser(`${tag}b`);
  users.push(ub);
  // The agent sees only this test's users: the homes are shared by every envoy on the
  // host, and a concurrent test's agent must not sweep (or count) our users' state.
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, [ua, ub].map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/sh`).join('\n') + '\n');
  agent = await startAgent(envoy.root, { sweep_interval_s: sweepIntervalS, passwd_file: passwd, ...gitback });
  const A = as(envoy, ua);
  const B = as(envoy, ub);
  shells.push(A, B);
  return { dir, envoy, agent, ua, ub, A, B };
}

/** An envoy whose agent sees only these users (like twoUserEnvoy, for any number). */
export async function envoyOf(tag: string, names: string[]): Promise<{ envoy: Envoy; agent: Agent; users: TestUser[]; sh: Sh[] }> {
  const dir = mkdtempSync(join(tmpdir(), `vgt-${tag}-`));
  const users: TestUser[] = [];
  const sh: Sh[] = [];
  let agent: Agent | null = null;
  after(async () => {
    for (const s of sh) s.vigo(['swarm', 'puddle', 'lock']);
    await agent?.stop();
    for (const u of users) removeTestUser(u);
    rmSync(dir, { recursive: true, force: true });
  });
  const envoy = makeEnvoyRoot(dir);
  for (const n of names) users.push(createTestUser(`${tag}${n}`));
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, users.map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/sh`).join('\n') + '\n');
  agent = await startAgent(envoy.root, { sweep_interval_s: 0.3, passwd_file: passwd });
  for (const u of users) {
    grantGitback(envoy, u);
    sh.push(as(envoy, u));
  }
  return { envoy, agent, users, sh };
}

export async function until(what: string, cond: () => boolean, log: () => string, ms = 30_000): Promise<void> {
  for (let t = Date.now(); Date.now() - t < ms && !cond(); ) await new Promise((r) => setTimeout(r, 100));
  assert.ok(cond(), `${what} (not reached in ${ms / 1000} s); agent log:\n${log()}`);
}
