// Monday morning: the envoy agent was stopped with `kill -STOP` (or is wedged). Its socket
// is still there and the kernel still accepts connections into the backlog, so before the
// fix `vigo swarm gitback status` and `git ls-remote gitback://…` hung forever. Now both
// give up after VIGO_GITBACK_TIMEOUT seconds with clear words, and work again once the agent
// is continued. Also a socket that accepts and never answers (a wedged listener).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectInit } from '../../src/gitback/project/found.js';
import { gitbackStatus } from '../../src/gitback/project/envoy.js';
import { repoRoot, startAgent, testContext } from './harness.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-silent-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid?.() ?? 0;
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', PATH: `${join(repoRoot, 'bin')}:${process.env.PATH}` };

function ctxFor(home: string, vroot: string, passwd: string) {
  const c = testContext(home, vroot, { uid, user: 'tester' });
  Object.assign(c.env, gitEnv, { VIGO_GITBACK_TIMEOUT: '1.5' });
  c.passwdFile = passwd;
  return c;
}

test('a stopped agent: status and git fail within the timeout, with what to do; SIGCONT and they work again', { timeout: 120_000 }, async () => {
  const vroot = join(dir, 'stopped');
  const home = join(dir, 'home-stopped');
  mkdirSync(vroot, { recursive: true });
  mkdirSync(home, { recursive: true });
  const passwd = join(dir, 'passwd-stopped');
  writeFileSync(passwd, `tester:x:${uid}:${uid}:tester:${home}:/bin/sh\n`);
  const agent = await startAgent(vroot, { sweep_interval_s: 60, passwd_file: passwd }, { ...process.env, ...gitEnv });
  after(() => {
    agent.proc.kill('SIGCONT');
    return agent.stop();
  });
  const a = ctxFor(home, vroot, passwd);
  const work = join(home, 'demo');
  mkdirSync(work);
  a.cwd = work;
  await run('git', ['init', '-q', '-b', 'main', work], { env: a.env });
  writeFileSync(join(work, 'README'), 'hello\n');
  await run('git', ['-C', work, 'add', '.'], { env: a.env });
  await run('git', ['-C', work, 'commit', '-qm', 'first'], { env: a.env });
  await projectInit(a, 'demo', {});
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(a.text())?.[1] as string;
  const url = `gitback://${pid}/demo`;
  assert.equal((await run('git', ['ls-remote', url], { env: a.env, cwd: work })).status, 0, 'ls-remote works while the agent runs');

  agent.proc.kill('SIGSTOP');
  try {
    const t0 = Date.now();
    const ls = await run('git', ['ls-remote', url], { env: a.env, cwd: work, timeoutMs: 60_000 });
    const lsMs = Date.now() - t0;
    console.log(`ls-remote against a stopped agent gave up after ${lsMs} ms (timeout 1.5 s)`);
    assert.notEqual(ls.status, 0);
    assert.doesNotMatch(ls.stderr, /killed after/, 'git must not hang until the test kills it');
    assert.match(ls.stderr, /fatal: gitback: the helper daemon is not answering \(nothing within 1\.5 s on .*gitback\.sock\)/);
    assert.match(ls.stderr, /hint: .*restart it/);
    assert.ok(lsMs < 30_000, `gave up in ${lsMs} ms`);

    a.stdout.length = 0;
    const t1 = Date.now();
    await gitbackStatus(a);
    console.log(`status against a stopped agent answered after ${Date.now() - t1} ms`);
    const st = a.stdout.join('');
    assert.match(st, /helper daemon:\s+socket present, not answering/);
    assert.match(st, /partial data:/);
    assert.match(st, /demo\s+swarm-wide/, 'the local scan still shows the caller’s project');
  } finally {
    agent.proc.kill('SIGCONT');
  }
  const again = await run('git', ['ls-remote', url], { env: a.env, cwd: work });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /refs\/heads\/main/);
});

test('a socket that accepts and never answers: status says so and git gives up', { timeout: 60_000 }, async () => {
  const vroot = join(dir, 'wedged');
  const home = join(dir, 'home-wedged');
  const sockDir = join(vroot, 'var', 'run', 'vigo');
  mkdirSync(sockDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  const held: Socket[] = [];
  const server = createServer((s) => void held.push(s)); // accepts, reads nothing, answers nothing
  await new Promise<void>((r) => server.listen(join(sockDir, 'gitback.sock'), r));
  after(() => {
    for (const s of held) s.destroy();
    server.close();
  });
  const a = ctxFor(home, vroot, join(dir, 'no-passwd'));
  a.env.VIGO_GITBACK_TIMEOUT = '1';
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), /helper daemon:\s+socket present, not answering/);
  const ls = await run('git', ['ls-remote', `gitback://${'ab'.repeat(32)}/demo`], { env: a.env, cwd: home, timeoutMs: 30_000 });
  assert.notEqual(ls.status, 0);
  assert.doesNotMatch(ls.stderr, /killed after/);
  assert.match(ls.stderr, /the helper daemon is not answering \(nothing within 1 s/);
  assert.ok(held.length >= 2, 'both callers really connected');
});
