// Pieces shared by the stories of a hostile local user against the helper daemon
// (test/e2e/gitback-limits, -revalidate, -load): raw daemon connections run as a user,
// and a project founded (and pushed) by a user.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestUser } from '../helpers/users.js';
import { repoRoot } from './harness.js';
import { run } from './proc.js';
import { ok, workTreeWithCommit, type Sh } from './users-env.js';
import type { RawConn, RawResult } from './raw-client.js';

/**
 * raw-client.js, copied once per test process to a 0755 directory of its own: it runs as
 * other users, who may not be able to enter the checkout (a clone under a 0700 directory).
 * It imports only node:net, so the copy stands alone; `.mjs` keeps it an ES module there.
 */
export const rawClient = ((): string => {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-raw-client-'));
  chmodSync(dir, 0o755);
  const file = join(dir, 'raw-client.mjs');
  copyFileSync(join(repoRoot, 'dist', 'test', 'gitback', 'raw-client.js'), file);
  chmodSync(file, 0o644);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return file;
})();

/** Runs raw-client.ts as `u` and returns what each connection saw. */
export async function raw(u: TestUser, sock: string, conns: RawConn[], holdMs: number, sequential = false): Promise<RawResult[]> {
  const r = await run(process.execPath, [rawClient, JSON.stringify({ sock, conns, holdMs, sequential })], { uid: u.uid, gid: u.gid, env: { PATH: process.env.PATH }, timeoutMs: holdMs + 30_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as RawResult[];
}

/** `project init <name>` from a fresh work tree with one commit (so it is pushed); its id. */
export function initProject(sh: Sh, u: TestUser, name: string): string {
  const work = workTreeWithCommit(sh, u, name, `${name} founding commit`);
  const out = ok(sh.vigo(['swarm', 'gitback', 'project', 'init', name], { cwd: work }), `init ${name}`).stdout;
  return /gitback:\/\/([0-9a-f]{64})\//.exec(out)?.[1] as string;
}
