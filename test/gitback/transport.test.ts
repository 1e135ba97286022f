// The remote helper and the daemon's proxy, with real git on both ends: clone, push,
// fetch through gitback:// and a refusal that reaches the user as a git error. (Access
// decisions are exercised end to end in test/e2e/gitback*.test.ts.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './proc.js';
import { pathWithProgram } from '../helpers/program.js';
import { GitbackDaemon, type RefsChangedEvent } from '../../src/gitback/daemon/server.js';
import { gitEnv } from '../../src/gitback/daemon/git.js';
import { systemClock } from '../../src/platform/clock.js';
import { VigoError } from '../../src/platform/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-transport-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, VIGO_ROOT: dir, PATH: pathWithProgram(), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const PID = 'ab'.repeat(32);
const url = `gitback://${PID}/demo`;

function git(args: string[], cwd = dir) {
  return run('git', args, { cwd, env, timeoutMs: 30_000 });
}

test('clone, push and fetch through gitback:// ; refusals carry the reason', async () => {
  const events: RefsChangedEvent[] = [];
  const d = new GitbackDaemon({
    socketPath: join(dir, 'var/run/vigo/gitback.sock'),
    log: () => undefined,
    clock: systemClock,
    gitEnv: gitEnv(process.env),
    status: () => Promise.resolve({}),
    authorizeMigrate: () => Promise.reject(new VigoError('E_NOT_ADMIN', 'no')),
    authorizeRetired: () => Promise.reject(new VigoError('E_NOT_MEMBER', 'no')),
    bind: () => Promise.reject(new VigoError('E_BIND_REFUSED', 'no')),
    authorize: (cred, req) => {
      assert.equal(cred.uid, process.getuid?.());
      if (req.handle !== 'demo') return Promise.reject(new VigoError('E_REVOKED', 'token 1234 was revoked (reason: left)'));
      return Promise.resolve({ repo: join(dir, 'projects', `${req.project_id}.git`), projectId: req.project_id, user: 'me', role: 'admin' });
    },
  });
  d.on('refs-changed', (e) => events.push(e));
  await d.listen();
  after(() => d.close());
  // a second daemon on the same socket refuses rather than stealing it
  const twin = new GitbackDaemon({ socketPath: join(dir, 'var/run/vigo/gitback.sock'), log: () => undefined, clock: systemClock, gitEnv: gitEnv(process.env), status: () => Promise.resolve({}), authorize: () => Promise.reject(new Error('x')), authorizeMigrate: () => Promise.reject(new Error('x')), authorizeRetired: () => Promise.reject(new Error('x')), bind: () => Promise.reject(new Error('x')) });
  await assert.rejects(twin.listen(), /already listening/);

  const work = join(dir, 'work');
  assert.equal((await git(['init', '-q', '-b', 'main', work])).status, 0);
  writeFileSync(join(work, 'a.txt'), 'one\n');
  await git(['add', '.'], work);
  assert.equal((await git(['commit', '-qm', 'one'], work)).status, 0);
  await git(['tag', 'v1'], work);
  const push = await git(['push', url, 'main', '--tags'], work);
  assert.equal(push.status, 0, push.stderr);
  // the daemon snapshots refs after receive-pack exits, which git may see first
  const settle = async (n: number) => {
    for (let i = 0; i < 100 && events.length < n; i++) await new Promise((r) => setTimeout(r, 20));
  };
  await settle(1);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]?.changes.map((c) => c.ref), ['refs/heads/main', 'refs/tags/v1']);

  // an atomic push of two refs goes through unchanged (git's own capability)
  await git(['branch', 'side'], work);
  const atomic = await git(['push', '--atomic', url, 'main:refs/heads/a1', 'side:refs/heads/a2'], work);
  assert.equal(atomic.status, 0, atomic.stderr);
  await settle(2);
  assert.deepEqual(events[1]?.changes.map((c) => c.ref), ['refs/heads/a1', 'refs/heads/a2']);

  const clone = await git(['clone', '-q', url, join(dir, 'clone')]);
  assert.equal(clone.status, 0, clone.stderr);
  assert.equal((await git(['log', '--format=%s'], join(dir, 'clone'))).stdout.trim(), 'one');

  const refused = await git(['ls-remote', `gitback://${PID}/other`]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /revoked \(reason: left\)/);

  const down = await run('git', ['ls-remote', url], { env: { ...env, VIGO_ROOT: join(dir, 'nowhere') }, timeoutMs: 30_000 });
  assert.notEqual(down.status, 0);
  assert.match(down.stderr, /helper daemon is not running/);
});
