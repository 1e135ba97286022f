// The push path, as an operator sees it: a user's `git push gitback://…` on envoy A lands
// on A's bare repo and reaches the swarm peers, carried by a manifest the user's own
// puddle key signed through the session helper; the pusher reads the replica report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { verifyManifest } from '../../src/swarm/index.js';
import { userSupport } from '../helpers/users.js';
import { run } from '../gitback/proc.js';
import { commit, okr, puddleUp, pushWorld, workTree } from './push-world.js';

const why = userSupport();

async function tipOf(gitDir: string, ref: string): Promise<string | null> {
  const r = await run('git', ['--git-dir', gitDir, 'rev-parse', '--verify', '-q', ref]);
  return r.status === 0 ? r.stdout.trim() : null;
}

async function until(what: string, f: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a push on A reaches peer B with a manifest signed by the pusher, and the pusher reads "replicated to 1 of 1 peer"', { skip: why ?? false, timeout: 240_000 }, async () => {
  const w = await pushWorld('spf', ['a']);
  const [alice] = w.users;
  const A = w.sh[0]!;
  const b = await w.peer('b');
  w.hear(b);
  const key = await puddleUp(A);
  const work = await workTree(A, alice!, 'demo');
  // project init publishes through git-remote-gitback: the first push already replicates
  const init = okr(await A.vigo(['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work }), 'project init');
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(init.stdout)?.[1] ?? '';
  assert.match(pid, /^[0-9a-f]{64}$/);
  const bareA = join(w.envoy.root, 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
  const bareB = join(b.projectsDir, `${pid}.git`);
  const first = await tipOf(bareA, 'refs/heads/main');
  await until('B to hold the first push', async () => (await tipOf(bareB, 'refs/heads/main')) === first);

  const second = await commit(A, work, 'NEWS', 'second\n', 'second commit');
  const push = await A.git(['push', 'swarm', 'main'], { cwd: work });
  assert.equal(push.status, 0, push.stderr);
  assert.match(push.stderr, /gitback: replicated to 1 of 1 peer\n/, push.stderr);
  assert.equal(await tipOf(bareA, 'refs/heads/main'), second, 'the push landed on A');
  assert.equal(await tipOf(bareB, 'refs/heads/main'), second, 'B holds it when the report says so');
  assert.deepEqual(b.node.tips(pid), { 'refs/heads/main': second });

  // what B holds came with a manifest signed by alice's own puddle key, the leaf of her chain
  const st = b.node.store.refs(pid).get('refs/heads/main')!;
  const u = b.node.store.update(pid, st.manifestId)!;
  assert.equal(u.manifest.pusher, key);
  assert.equal(u.manifest.envoy, w.a.envoyId);
  assert.deepEqual(u.manifest.refs, [{ ref: 'refs/heads/main', old: first, new: second }]);
  const v = verifyManifest(u.manifest, u.chain, { projectId: pid, now: Math.floor(Date.now() / 1000), bundleSha256: null });
  assert.equal(v.ok, true, v.ok ? '' : v.message);
  assert.ok(u.manifest.seq > 0);

  // a clone from B's bare repo has alice's commit
  const clone = await run('git', ['clone', '-q', bareB, join(w.dir, 'clone-b')]);
  assert.equal(clone.status, 0, clone.stderr);
  assert.equal((await run('git', ['-C', join(w.dir, 'clone-b'), 'log', '-1', '--format=%s'])).stdout.trim(), 'second commit');
});
