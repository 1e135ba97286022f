/**
 * Real Unix users for tests that need a second (or third) uid: SO_PEERCRED checks,
 * per-user state, root-owned daemons serving several users. Only as root (CI runs as
 * root); elsewhere `userSupport()` says why not, for a clear skip message.
 *
 *   const why = userSupport();
 *   test('…', { skip: why ?? false }, async (t) => {
 *     const u = createTestUser('pa'); t.after(() => removeTestUser(u));
 *     runAs(u, process.execPath, ['-e', '…']);
 *   });
 *
 * Names are `vgt<tag><random>` (≤ 32 chars). Run the program as them through
 * test/helpers/program.ts: scripts/run-tests.mjs installs it where every user can read it,
 * so the checkout itself may be out of their reach.
 */
import { execFileSync, spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** null when users can be created here, else the reason they cannot (use it as a skip message). */
export function userSupport(): string | null {
  if (process.platform !== 'linux') return 'needs Linux (useradd, SO_PEERCRED)';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root to create test users with useradd (CI runs as root)';
  const r = spawnSync('useradd', ['--help'], { stdio: 'ignore' });
  if (r.error) return 'useradd is not installed';
  return null;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** useradd -m with retries (several test files may edit /etc/passwd at once). */
export function createTestUser(tag: string): TestUser {
  const why = userSupport();
  if (why !== null) throw new Error(`cannot create a test user: ${why}`);
  const clean = tag.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12);
  const name = `vgt${clean}${randomBytes(4).toString('hex')}`;
  let last = '';
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
    if (r.status === 0) {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      const home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':')[5] ?? `/home/${name}`;
      return { name, uid, gid, home };
    }
    last = r.stderr;
    sleepSync(100 + Math.floor(Math.random() * 200));
  }
  throw new Error(`useradd ${name} failed: ${last}`);
}

/** userdel -r -f with retries; never throws (cleanup must not mask the test's own failure). */
export function removeTestUser(u: TestUser): void {
  for (let i = 0; i < 20; i++) {
    const r = spawnSync('userdel', ['-r', '-f', u.name], { stdio: 'ignore' });
    if (r.status === 0 || r.status === 6 /* no such user */) return;
    sleepSync(100 + Math.floor(Math.random() * 200));
  }
}

/** Environment for a process running as `u`: its HOME, USER, LOGNAME and a plain PATH. */
export function userEnv(u: TestUser, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: u.home, USER: u.name, LOGNAME: u.name, LANG: 'C.UTF-8', ...extra };
}

/** Runs a program as `u` (real uid/gid switch by the kernel, supplementary groups dropped). */
export function runAs(u: TestUser, file: string, args: string[], opts: SpawnSyncOptions & { extraEnv?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  const { extraEnv, ...rest } = opts;
  return spawnSync(file, args, {
    cwd: u.home,
    encoding: 'utf8',
    timeout: 60_000,
    ...rest,
    env: userEnv(u, extraEnv),
    uid: u.uid,
    gid: u.gid,
  }) as SpawnSyncReturns<string>;
}
