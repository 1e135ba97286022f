// How an envoy learns it is a member for replication: a local user who holds a project
// (state whose chain verifies for the key bound to that uid) makes it one at the next
// reactor sweep, before any git operation here; a user who copied someone else's state
// files does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestUser, removeTestUser, userSupport, type TestUser } from '../helpers/users.js';
import { grantGitback, makeEnvoyRoot } from '../gitback/users-env.js';
import { asUser, okr, puddleUp, pushWorld, workTree, type AsyncSh } from './push-world.js';

const why = userSupport();

async function until(what: string, f: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  void what;
  return true;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) chownTree(join(path, e.name), uid, gid);
    else chownSync(join(path, e.name), uid, gid);
  }
}

test('a member who never ran git here is a member after a sweep; copied state files make no member', { skip: why ?? false, timeout: 240_000 }, async (t) => {
  const w = await pushWorld('spj', ['a', 'b'], { sweep_interval_s: 1 });
  // carol lives on another envoy (no daemon there): A never sweeps her
  const carol = createTestUser('spjc');
  const elsewhere = makeEnvoyRoot(join(w.dir, 'elsewhere'));
  grantGitback(elsewhere, carol);
  const C = asUser(elsewhere, carol);
  t.after(async () => {
    await C.vigo(['swarm', 'puddle', 'lock']);
    removeTestUser(carol);
  });
  const [alice, bob] = w.users as [NonNullable<(typeof w.users)[0]>, NonNullable<(typeof w.users)[0]>];
  const [A, B] = w.sh as [NonNullable<(typeof w.sh)[0]>, NonNullable<(typeof w.sh)[0]>];
  await puddleUp(A);
  await puddleUp(B);
  const founded = async (sh: AsyncSh, u: TestUser, name: string): Promise<string> => {
    const work = await workTree(sh, u, name);
    const init = okr(await sh.vigo(['swarm', 'gitback', 'project', 'init', name, '--scope', 'members-only', '--no-push'], { cwd: work }), 'project init');
    return /gitback:\/\/([0-9a-f]{64})\//.exec(init.stdout)?.[1] ?? '';
  };
  const member = (pid: string) => w.a.node.store.project(pid)?.member === true;

  const club = await founded(A, alice, 'club');
  assert.ok(await until('club membership', () => member(club), 30_000), 'alice holds club: A is a member after a sweep');

  // bob copies carol's state for her members-only project (a chain is not secret)
  await puddleUp(C);
  const other = await founded(C, carol, 'other');
  cpSync(join(carol.home, '.vigo-gitback', other), join(bob.home, '.vigo-gitback', other), { recursive: true });
  chownTree(join(bob.home, '.vigo-gitback'), bob.uid, bob.gid);
  // several sweeps read bob's copy; its chain is carol's, not the key bound to bob's uid
  assert.equal(await until('other membership', () => member(other), 6_000), false, "bob's copied state made A a member");
});
