// The daemon's limit settings as an operator writes them in agent.yaml, and the status
// scan's per-call bound: what a scan sizes, what it carries over, and what a user's
// partial scan skips. (The limits against real users: test/e2e/gitback-limits.test.ts.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGitbackConfig } from '../../src/gitback/daemon/service.js';
import { DEFAULT_LIMITS } from '../../src/gitback/daemon/server.js';
import { collectStatus, countRefs, type RepoFigures } from '../../src/gitback/status.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-dlimits-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = '/etc/vigo-envoy/agent.yaml';

test('agent.yaml gitback limits: defaults, seconds become ms, 0 repos means no quota, bad values name the key', () => {
  const d = parseGitbackConfig({ file, sections: {} });
  assert.deepEqual(d.limits, DEFAULT_LIMITS);
  assert.equal(d.status_cache_s, 5);
  const c = parseGitbackConfig({ file, sections: { gitback: { max_connections_per_uid: 4, request_timeout_s: 2.5, receive_stall_s: 10, max_repos_per_uid: 0, status_max_repos: 7 } } });
  assert.equal(c.limits.maxConnectionsPerUid, 4);
  assert.equal(c.limits.requestTimeoutMs, 2500);
  assert.equal(c.limits.receiveStallMs, 10_000);
  assert.equal(c.limits.maxReposPerUid, null);
  assert.equal(c.status_max_repos, 7);
  assert.throws(() => parseGitbackConfig({ file, sections: { gitback: { max_git_processes_per_uid: 2.5 } } }), /agent\.yaml: gitback\.max_git_processes_per_uid must be a positive integer/);
  assert.throws(() => parseGitbackConfig({ file, sections: { gitback: { session_max_s: '1h' } } }), /gitback\.session_max_s must be a positive number/);
  assert.throws(() => parseGitbackConfig({ file, sections: { gitback: { max_conections: 5 } } }), (e: Error & { hint?: string }) => /unknown field gitback\.max_conections/.test(e.message) && /max_connections_per_uid/.test(e.hint ?? ''));
});

test('a status scan sizes at most maxRepos repos, stalest first, and carries the others over', async () => {
  const env = { VIGO_ROOT: join(dir, 'envoy') };
  const projects = join(dir, 'envoy', 'var/lib/vigo/swarm/gitback/projects');
  mkdirSync(projects, { recursive: true });
  for (let i = 0; i < 5; i++) assert.equal((await run('git', ['init', '--bare', '-q', join(projects, `${String(i).repeat(64)}.git`)])).status, 0);
  writeFileSync(join(projects, '.not-a-repo'), '');
  const figures = new Map<string, RepoFigures>();
  const first = collectStatus(env, [], false, { maxRepos: 2, figures, nowMs: 1 });
  assert.equal(first.bare_repos, 5);
  assert.equal(first.unsized_repos, 3);
  assert.equal(first.projects.filter((p) => p.bare?.unsized === true).length, 3);
  assert.equal(figures.size, 2);
  const second = collectStatus(env, [], false, { maxRepos: 2, figures, nowMs: 2 });
  assert.equal(second.projects.filter((p) => p.bare?.unsized === true).length, 1, 'the second scan sized two others');
  const third = collectStatus(env, [], false, { maxRepos: 2, figures, nowMs: 3 });
  assert.equal(third.projects.filter((p) => p.bare?.unsized === true).length, 0);
  assert.ok(third.bare_bytes > 0);
  // a directory-entry budget stops a scan inside a repo, never the answer
  const tight = collectStatus(env, [], false, { maxEntries: 3, figures: new Map(), nowMs: 4 });
  assert.equal(tight.bare_repos, 5);
  assert.equal(tight.unsized_repos, 5);
});

test('countRefs reads loose and packed refs as git for-each-ref counts them', async () => {
  const work = join(dir, 'refs-work');
  const g = (args: string[], cwd = work) => run('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } });
  assert.equal((await g(['init', '-q', '-b', 'main', work], dir)).status, 0);
  assert.equal((await g(['commit', '-q', '--allow-empty', '-m', 'one'])).status, 0);
  for (const b of ['a', 'b', 'c/d']) await g(['branch', b]);
  await g(['tag', '-a', '-m', 'v', 'v1']);
  await g(['pack-refs', '--all']);
  await g(['branch', 'loose-after-pack']);
  await g(['update-ref', 'refs/heads/a', 'HEAD']); // loose copy of a packed ref: counted once
  const bare = join(dir, 'refs-bare.git');
  assert.equal((await g(['clone', '-q', '--mirror', work, bare], dir)).status, 0);
  await g(['--git-dir', bare, 'branch', 'only-loose', 'main'], dir);
  for (const repo of [join(work, '.git'), bare]) {
    const viaGit = (await g(['--git-dir', repo, 'for-each-ref', '--format=%(refname)'], dir)).stdout.trim().split('\n').length;
    assert.equal(countRefs(repo), viaGit, repo);
  }
});
