// The refs store a replica commits through: one ref moves only from the value the writer
// last saw. A stale writer (another envoy's update applied first, a push that landed in
// between) is refused and told what the ref is at; it never overwrites. The same story
// runs against real git (GitRefStore: update-ref's compare under the ref lock) and against
// the in-memory store the simulator uses, so the two cannot drift apart.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitEnv } from '../../src/gitback/daemon/git.js';
import { GitRefStore } from '../../src/gitback/stores/disk.js';
import { MemoryRefStore } from '../../src/gitback/stores/memory.js';
import type { RefStore } from '../../src/gitback/stores/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-refstore-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = gitEnv(process.env, { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' });

function git(repo: string, ...args: string[]): string {
  const r = spawnSync('git', ['--git-dir', repo, ...args], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A bare repo holding three commits (real objects, so update-ref accepts them). */
function bareWithCommits(name: string): { repo: string; a: string; b: string; c: string } {
  const repo = join(dir, `${name}.git`);
  spawnSync('git', ['init', '--bare', '--quiet', repo], { env });
  const tree = git(repo, 'mktree');
  const a = git(repo, 'commit-tree', tree, '-m', 'a');
  const b = git(repo, 'commit-tree', tree, '-p', a, '-m', 'b');
  const c = git(repo, 'commit-tree', tree, '-p', b, '-m', 'c');
  return { repo, a, b, c };
}

/** The operator's story, against either store. `moveBehind` is another writer moving the ref. */
function casStory(store: RefStore, repo: string, a: string, b: string, c: string, moveBehind: (ref: string, oid: string) => void): void {
  const main = 'refs/heads/main';
  assert.deepEqual([...store.list(repo)], [], 'a fresh repo has no refs');
  assert.equal(store.get(repo, main), null);

  // creation: old null means "only if absent"
  assert.deepEqual(store.cas(repo, main, null, a), { ok: true });
  assert.equal(store.get(repo, main), a);
  assert.deepEqual(store.cas(repo, main, null, b), { ok: false, actual: a }, 'a second creation is refused, naming the tip');
  assert.equal(store.get(repo, main), a, 'and does not overwrite it');

  // a move from the value seen
  assert.deepEqual(store.cas(repo, main, a, b), { ok: true });
  assert.equal(store.get(repo, main), b);

  // another writer moves it; the stale writer (still thinking a) is refused
  moveBehind(main, c);
  assert.deepEqual(store.cas(repo, main, b, a), { ok: false, actual: c }, 'a stale old value is a refusal');
  assert.equal(store.get(repo, main), c, 'the other writer’s tip stands');

  // deletion: only from the value seen
  assert.deepEqual(store.cas(repo, main, b, null), { ok: false, actual: c });
  assert.equal(store.get(repo, main), c);
  assert.deepEqual(store.cas(repo, main, c, null), { ok: true });
  assert.equal(store.get(repo, main), null);
  assert.deepEqual(store.cas(repo, main, c, null), { ok: false, actual: null }, 'deleting a ref already gone is refused');
  assert.deepEqual(store.cas(repo, main, null, null), { ok: true }, '"delete if absent" of an absent ref holds');

  // a second ref, and list sees exactly what is there
  assert.deepEqual(store.cas(repo, 'refs/tags/v1', null, a), { ok: true });
  assert.deepEqual(store.cas(repo, main, null, b), { ok: true });
  assert.deepEqual(
    [...store.list(repo)].sort(),
    [
      [main, b],
      ['refs/tags/v1', a],
    ],
  );
  assert.equal(store.get(repo, 'refs/heads'), null, 'get is exact: a prefix is not a ref');

  // malformed input is an error naming the ref, never a refusal or a write
  for (const bad of ['HEAD', 'main', 'refs/heads/../x', 'refs/heads/a b', 'refs/heads/x.lock', '--upload-pack=x']) {
    assert.throws(() => store.cas(repo, bad, null, a), (e: Error & { code?: string }) => e.code === 'E_BAD_REF' && e.message.includes(bad), bad);
  }
  assert.throws(() => store.cas(repo, main, b, 'abc'), /not a full object id/);
  assert.throws(() => store.cas(join(dir, 'nope.git'), main, null, a), (e: Error & { code?: string }) => e.code === 'E_NO_BARE_REPO');
}

test('git refs: compare-and-swap refuses a stale writer and never overwrites (real bare repo)', () => {
  const { repo, a, b, c } = bareWithCommits('disk');
  const store = new GitRefStore(env);
  casStory(store, repo, a, b, c, (ref, oid) => git(repo, 'update-ref', ref, oid));
  // what git itself reports agrees with the store
  assert.equal(git(repo, 'rev-parse', 'refs/heads/main'), b);
  // an object the repo does not hold is an error, not taken for a mismatch
  const missing = 'f'.repeat(40);
  assert.throws(
    () => store.cas(repo, 'refs/heads/main', b, missing),
    (e: Error & { code?: string }) => e.code === 'E_GIT' && e.message.includes('refs/heads/main'),
  );
  assert.equal(store.get(repo, 'refs/heads/main'), b);
});

test('git refs: listAsync sees what list sees', async () => {
  const { repo, a } = bareWithCommits('async');
  const store = new GitRefStore(env);
  assert.deepEqual(store.cas(repo, 'refs/heads/main', null, a), { ok: true });
  assert.deepEqual([...(await store.listAsync(repo))], [...store.list(repo)]);
  assert.deepEqual([...(await store.listAsync(join(dir, 'absent.git')))], []);
});

test('memory refs: the same compare-and-swap answers as git', () => {
  const { a, b, c } = bareWithCommits('ids'); // object ids only; memory holds no objects
  const store = new MemoryRefStore();
  const repo = '/envoy/projects/p.git';
  store.create(repo);
  casStory(store, repo, a, b, c, (ref, oid) => store.repos.get(repo)?.set(ref, oid));
});
