// git-remote-gitback's fast path: the native connect tunnel (native/gitback-tunnel.c).
// An operator's story: git operations on a gitback://<project_id>/<handle> URL must not
// pay for a Node.js start, yet say exactly what the daemon is asked and every refusal
// must still reach the user with the daemon's reason, as the multicall program says it.
// A `node` on PATH that leaves a mark shows which path ran.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { makeNameMap } from '../../src/wire/swarm-fleet.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitbackDaemon, type ConnectRequest } from '../../src/gitback/daemon/server.js';
import { gitEnv } from '../../src/gitback/daemon/git.js';
import { systemClock } from '../../src/platform/clock.js';
import { computeProjectId } from '../../src/gitback/url.js';
import { VigoError } from '../../src/platform/errors.js';
import { pathWithProgram, programBin } from '../helpers/program.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-tunnel-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// `node` for this test: notes that it ran, then is the real node
const shim = join(dir, 'shim');
const marks = join(dir, 'node-ran');
mkdirSync(shim);
writeFileSync(join(shim, 'node'), `#!/bin/sh\necho "$@" >> ${marks}\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
const env = { ...process.env, VIGO_ROOT: dir, PATH: `${shim}:${pathWithProgram()}`, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };
const nodeRuns = () => (existsSync(marks) ? readFileSync(marks, 'utf8').trim().split('\n').length : 0);
const git = (args: string[], cwd = dir, e: NodeJS.ProcessEnv = env) => run('git', args, { cwd, env: e, timeoutMs: 60_000 });

const PID = 'cd'.repeat(32);
const url = `gitback://${PID}/demo`;
const namePub = 'ef'.repeat(32);

test('hex-URL clone, push, fetch, ls-remote start no Node.js; names, refusals and a missing tunnel go to the program', async () => {
  const seen: ConnectRequest[] = [];
  const d = new GitbackDaemon({
    socketPath: join(dir, 'var/run/vigo/gitback.sock'),
    log: () => undefined,
    clock: systemClock,
    gitEnv: gitEnv(process.env),
    status: () => Promise.resolve({}),
    authorizeMigrate: () => Promise.reject(new VigoError('E_NOT_ADMIN', 'no')),
    authorizeRetired: () => Promise.reject(new VigoError('E_NOT_MEMBER', 'no')),
    bind: () => Promise.reject(new VigoError('E_BIND_REFUSED', 'no')),
    authorize: (_cred, req) => {
      seen.push(req);
      if (req.handle === 'gone') return Promise.reject(new VigoError('E_REVOKED', 'token 99 was revoked (reason: left)', { hint: 'ask an admin for a new invitation' }));
      return Promise.resolve({ repo: join(dir, 'projects', `${req.project_id}.git`), projectId: req.project_id, user: 'me', role: 'admin' });
    },
  });
  await d.listen();
  after(() => d.close());

  const work = join(dir, 'work');
  assert.equal((await git(['init', '-q', '-b', 'main', work])).status, 0);
  writeFileSync(join(work, 'a.txt'), 'one\n');
  await git(['add', '.'], work);
  assert.equal((await git(['commit', '-qm', 'one'], work)).status, 0);

  // the plain path: every operation through the tunnel, no Node.js process at all
  const push = await git(['push', url, 'main'], work);
  assert.equal(push.status, 0, push.stderr);
  const clone = await git(['clone', '-q', `gitback://${PID.toUpperCase()}/demo.git`, join(dir, 'clone')]);
  assert.equal(clone.status, 0, clone.stderr);
  assert.equal((await git(['log', '--format=%s'], join(dir, 'clone'))).stdout.trim(), 'one');
  writeFileSync(join(work, 'a.txt'), 'two\n');
  assert.equal((await git(['commit', '-qam', 'two'], work)).status, 0);
  assert.equal((await git(['push', '-q', url, 'main'], work)).status, 0);
  const fetch = await git(['fetch', '-q', 'origin'], join(dir, 'clone'));
  assert.equal(fetch.status, 0, fetch.stderr);
  assert.match((await git(['ls-remote', url])).stdout, /refs\/heads\/main/);
  assert.equal(nodeRuns(), 0, `the hex-URL path started node: ${existsSync(marks) ? readFileSync(marks, 'utf8') : ''}`);
  // …and asked the daemon what the TypeScript helper asks: the lowercased id, the handle
  // without .git, protocol v2 for upload-pack (git's default), none for receive-pack
  assert.deepEqual(
    seen.map((r) => [r.service, r.project_id, r.handle, r.git_protocol]),
    [
      ['git-receive-pack', PID, 'demo', null],
      ['git-upload-pack', PID, 'demo', 'version=2'],
      ['git-receive-pack', PID, 'demo', null],
      ['git-upload-pack', PID, 'demo', 'version=2'],
      ['git-upload-pack', PID, 'demo', 'version=2'],
    ],
  );
  // a user who pins protocol.version gets what they pinned (v0: no GIT_PROTOCOL at all)
  seen.length = 0;
  assert.equal((await git(['-c', 'protocol.version=0', 'ls-remote', url])).status, 0);
  assert.equal(seen[0]?.git_protocol, null);

  // a refusal: the program is handed the refused command and says why, as before
  seen.length = 0;
  const refused = await git(['ls-remote', `gitback://${PID}/gone`]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /fatal: gitback: token 99 was revoked \(reason: left\)\nhint: ask an admin for a new invitation/);
  assert.equal(nodeRuns(), 1, 'the refusal was explained by the program');
  assert.equal(seen.length, 2, 'the program asked again itself (the tunnel has no messages of its own)');

  // no daemon: the program's E_DAEMON_DOWN message
  const down = await git(['ls-remote', url], dir, { ...env, VIGO_ROOT: join(dir, 'nowhere') });
  assert.notEqual(down.status, 0);
  assert.match(down.stderr, /helper daemon is not running/);

  // a friendly name (resolved from the fleet name map) goes to the program before anything is read
  mkdirSync(join(dir, 'var/lib/vigo/swarm'), { recursive: true });
  writeFileSync(join(dir, 'var/lib/vigo/swarm/name-map.json'), JSON.stringify(makeNameMap({ alice: { status: 'ok', pubkey: namePub } })));
  seen.length = 0;
  const before = nodeRuns();
  const named = await git(['push', '-q', 'gitback://alice/demo', 'main'], work);
  assert.equal(named.status, 0, named.stderr);
  assert.equal(seen[0]?.project_id, computeProjectId(Buffer.from(namePub, 'hex'), 'demo'));
  assert.equal(nodeRuns(), before + 1);

  // an install without the tunnel (addon not rebuilt yet): the wrapper runs the program
  const bare = join(dir, 'bare-install', 'bin');
  mkdirSync(bare, { recursive: true });
  copyFileSync(programBin('git-remote-gitback'), join(bare, 'git-remote-gitback'));
  chmodSync(join(bare, 'git-remote-gitback'), 0o755);
  symlinkSync(programBin('vigo.js'), join(bare, 'git-remote-gitback.js'));
  const runsBefore = nodeRuns();
  const noTunnel = await git(['ls-remote', url], dir, { ...env, PATH: `${shim}:${bare}:${process.env.PATH ?? ''}` });
  assert.equal(noTunnel.status, 0, noTunnel.stderr);
  assert.match(noTunnel.stdout, /refs\/heads\/main/);
  assert.equal(nodeRuns(), runsBefore + 1);
});
