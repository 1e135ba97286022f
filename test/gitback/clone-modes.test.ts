// Tuesday: a large repo is cloned without its history's blobs (`--filter=blob:none`), an
// old commit is checked out (git fetches the missing blobs through gitback on demand), a CI
// job makes a shallow clone, and someone tries `git archive --remote`, which gitback does
// not serve: it must say so plainly instead of "unsupported remote-helper command".
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectInit } from '../../src/gitback/project/found.js';
import { repoRoot, startAgent, testContext } from './harness.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-clones-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid?.() ?? 0;
const vroot = join(dir, 'root');
const home = join(dir, 'home');
for (const d of [vroot, home]) mkdirSync(d, { recursive: true });
const passwd = join(dir, 'passwd');
writeFileSync(passwd, `tester:x:${uid}:${uid}:tester:${home}:/bin/sh\n`);
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', PATH: `${join(repoRoot, 'bin')}:${process.env.PATH}` };

test('partial clone + checkout of an old commit, shallow clone, git archive --remote refused clearly', { timeout: 120_000 }, async () => {
  const agent = await startAgent(vroot, { sweep_interval_s: 60, passwd_file: passwd }, { ...process.env, ...gitEnv });
  after(() => agent.stop());
  const a = testContext(home, vroot, { uid, user: 'tester' });
  Object.assign(a.env, gitEnv);
  const g = async (args: string[], cwd: string) => {
    const r = await run('git', args, { cwd, env: a.env, timeoutMs: 60_000 });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const work = join(home, 'big');
  mkdirSync(work);
  a.cwd = work;
  await g(['init', '-q', '-b', 'main', work], work);
  for (let i = 1; i <= 3; i++) {
    writeFileSync(join(work, 'data.txt'), `version ${i}\n`.repeat(100));
    await g(['add', '.'], work);
    await g(['commit', '-qm', `v${i}`], work);
  }
  const first = (await g(['rev-list', '--max-parents=0', 'HEAD'], work)).stdout.trim();
  await projectInit(a, 'big', {});
  const url = /gitback:\/\/[0-9a-f]{64}\/big/.exec(a.text())?.[0] as string;

  const partial = join(home, 'partial');
  const pc = await run('git', ['clone', '--filter=blob:none', url, partial], { cwd: home, env: a.env, timeoutMs: 60_000 });
  assert.equal(pc.status, 0, pc.stderr);
  assert.doesNotMatch(pc.stderr, /filtering not recognized by server/);
  assert.equal((await g(['config', 'remote.origin.promisor'], partial)).stdout.trim(), 'true', 'a real partial clone');
  // the old blob is not there until asked for …
  const missing = (await g(['rev-list', '--objects', '--missing=print', 'HEAD'], partial)).stdout;
  assert.match(missing, /^\?[0-9a-f]{40}$/m, 'history blobs were left out');
  // … and checking out the first commit fetches it through gitback
  await g(['checkout', '-q', first], partial);
  assert.equal(readFileSync(join(partial, 'data.txt'), 'utf8'), 'version 1\n'.repeat(100));

  const shallow = join(home, 'shallow');
  await g(['clone', '-q', '--depth', '1', url, shallow], home);
  assert.equal((await g(['rev-list', '--count', 'HEAD'], shallow)).stdout.trim(), '1');
  assert.equal((await g(['rev-parse', '--is-shallow-repository'], shallow)).stdout.trim(), 'true');
  await g(['fetch', '-q', '--deepen', '1'], shallow);
  assert.equal((await g(['rev-list', '--count', 'HEAD'], shallow)).stdout.trim(), '2');

  const ar = await run('git', ['archive', `--remote=${url}`, 'HEAD'], { cwd: home, env: a.env, timeoutMs: 60_000 });
  assert.notEqual(ar.status, 0);
  assert.match(ar.stderr, /fatal: gitback: `git archive --remote` is not supported over gitback/);
  assert.match(ar.stderr, /hint: clone or fetch it, then run `git archive` on the local copy/);
});
