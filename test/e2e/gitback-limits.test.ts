// The helper daemon's limits against a hostile local user (issue 8 item 3): one real agent
// with small limits, user A as the attacker (a member of a project it shares with B), user B
// as the victim. Each story is an attack that worked before the limit existed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userSupport } from '../helpers/users.js';
import { grantGitback, ok, setupPuddle, twoUserEnvoy, workTreeWithCommit, type Sh, type TwoUserEnvoy } from '../gitback/users-env.js';
import { run } from '../gitback/proc.js';
import { initProject, raw } from '../gitback/hostile.js';

const why = userSupport();

const LIMITS = {
  max_connections_per_uid: 6,
  request_timeout_s: 2,
  max_git_processes_per_uid: 3,
  receive_stall_s: 3,
  receive_lock_max_s: 10,
  session_max_s: 30,
  status_per_uid_per_min: 10,
  status_max_repos: 4,
  max_repos_per_uid: 3,
};

function projectId(sh: Sh, handle: string): string {
  const list = JSON.parse(ok(sh.vigo(['swarm', 'gitback', 'project', 'list', '--json']), 'list').stdout) as { handle: string; project_id: string }[];
  return list.find((p) => p.handle === handle)?.project_id as string;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; r: T }> {
  const t = Date.now();
  const r = await f();
  return { ms: Date.now() - t, r };
}

let env: TwoUserEnvoy;
let sock: string;
let pid: string;
let bClone: string;
const bareOf = (p: string) => join(env.envoy.root, 'var/lib/vigo/swarm/gitback/projects', `${p}.git`);

test('one hostile local user against the helper daemon’s limits', { skip: why ?? false, timeout: 900_000 }, async (t) => {
  // (the envoy is made here, not in a subtest: its cleanup runs when the whole story ends)
  env = await twoUserEnvoy('gl', 0.5, LIMITS);
  await t.test('setup: A founds `shared` and B joins and clones it', async () => {
    const { envoy, ua, ub, A, B } = env;
    sock = join(envoy.root, 'var/run/vigo/gitback.sock');
    grantGitback(envoy, ua);
    grantGitback(envoy, ub);
    setupPuddle(A);
    const pkB = setupPuddle(B);
    pid = initProject(A, ua, 'shared');
    const inv = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'shared', '--puddle', `ed25519:${pkB}`, '--role', 'member']), 'invite B');
    ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv.stdout }), 'B join');
    bClone = join(ub.home, 'shared');
    ok(B.git(['clone', '-q', `gitback://${pid}/shared`, bClone]), 'B clone');
  });

  await t.test('an fd flood of idle connections: over the per-uid cap each is refused at once, idle ones are dropped at the request deadline, B is unaffected', async () => {
    const { ua, B } = env;
    const flood = raw(ua, sock, Array.from({ length: 20 }, () => ({ line: null })), 15_000);
    await new Promise((r) => setTimeout(r, 500));
    const during = await timed(() => B.gitAsync(['ls-remote', `gitback://${pid}/shared`]));
    assert.equal(during.r.status, 0, during.r.stderr);
    const res = await flood;
    const busy = res.filter((c) => c.data.includes('"code":"E_BUSY"'));
    const timedOut = res.filter((c) => c.data.includes('"code":"E_TIMEOUT"'));
    console.log(`fd flood: ${busy.length} refused at the cap, ${timedOut.length} dropped at the request deadline; B's ls-remote during it: ${during.ms} ms`);
    assert.ok(busy.length >= 20 - LIMITS.max_connections_per_uid, `over-cap connections are refused: ${JSON.stringify(res)}`);
    for (const c of busy) {
      assert.match(c.data, /at its cap of 6 open connections for uid/);
      assert.ok(c.closedAt !== null && c.closedAt - c.connectedAt < 3_000, `a refused connection is closed at once: ${JSON.stringify(c)}`);
    }
    assert.ok(timedOut.length >= 1 && timedOut.length <= LIMITS.max_connections_per_uid);
    // the log names the refusal once, then counts (a flood must not flood the agent log)
    const logged = env.agent.log().split('\n').filter((l) => l.includes(`uid ${ua.uid}: refused: E_BUSY`));
    assert.equal(logged.length, 1, logged.join('\n'));
    for (const c of timedOut) {
      assert.match(c.data, /no complete request line within 2 s/);
      assert.ok(c.closedAt !== null && c.closedAt - c.connectedAt < 10_000, `an idle connection is dropped at the deadline: ${JSON.stringify(c)}`);
    }
  });

const uploadPack = () => ({ v: 1, op: 'connect', service: 'git-upload-pack', project_id: pid, handle: 'shared', git_protocol: 'version=2' });
const receivePack = () => ({ v: 1, op: 'connect', service: 'git-receive-pack', project_id: pid, handle: 'shared', git_protocol: null });

  await t.test('an upload-pack flood: A gets 3 git processes, the 4th is refused; B still fetches; the held sessions end at session_max_s', async () => {
    const { ua, B } = env;
    const flood = raw(ua, sock, Array.from({ length: 5 }, () => ({ line: uploadPack() })), 60_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const during = await timed(() => B.gitAsync(['fetch', '-q', 'origin'], { cwd: bClone }));
    assert.equal(during.r.status, 0, during.r.stderr);
    const res = await flood;
    const served = res.filter((c) => c.data.startsWith('{"ok":true}'));
    const busy = res.filter((c) => c.data.includes('"code":"E_BUSY"'));
    console.log(`upload-pack flood: ${served.length} served, ${busy.length} refused; B's fetch during it: ${during.ms} ms`);
    assert.equal(served.length, LIMITS.max_git_processes_per_uid, JSON.stringify(res));
    assert.equal(busy.length, 2);
    for (const c of busy) assert.match(c.data, /already run 3 git processes/);
    // nothing keeps a session past its absolute deadline (idle_timeout_s is 300 s here)
    for (const c of served) {
      assert.match(c.data, /ERR gitback: git-upload-pack session ended: it passed the 30 s limit \(gitback\.session_max_s\) \(E_SESSION_DEADLINE\)/);
      assert.ok(c.closedAt !== null && c.closedAt < 50_000);
    }
  });

  await t.test('a member who stalls with the receive lock loses it in receive_stall_s; B pushes meanwhile', async () => {
    const { ua, ub, B } = env;
    const holder = raw(ua, sock, [{ line: receivePack() }], 40_000);
    await new Promise((r) => setTimeout(r, 1_000));
    writeFileSync(join(bClone, 'b1.txt'), 'b1\n');
    chownSync(join(bClone, 'b1.txt'), ub.uid, ub.gid);
    ok(B.git(['add', '.'], { cwd: bClone }), 'add');
    ok(B.git(['commit', '-qm', 'b1'], { cwd: bClone }), 'commit');
    const push = await timed(() => B.gitAsync(['push', '-q', 'origin', 'main'], { cwd: bClone }));
    const [h] = await holder;
    console.log(`stalled lock holder: B's push took ${push.ms} ms (receive_stall_s ${LIMITS.receive_stall_s})`);
    assert.equal(push.r.status, 0, push.r.stderr);
    assert.ok(push.ms < 30_000, `B's push waited ${push.ms} ms`);
    assert.match(h?.data ?? '', /gitback: push ended: no progress for 3 s while holding the project's receive lock .*\(E_STALLED\)/);
  });

  await t.test('a member who trickles a byte a second keeps the lock no longer than receive_lock_max_s', async () => {
    const { ua, ub, B } = env;
    // a pkt-line header promising 65520 bytes, then its payload one byte at a time
    const holder = raw(ua, sock, [{ line: receivePack(), trickle: { prefix: 'fff0', everyMs: 500 } }], 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    writeFileSync(join(bClone, 'b2.txt'), 'b2\n');
    chownSync(join(bClone, 'b2.txt'), ub.uid, ub.gid);
    ok(B.git(['add', '.'], { cwd: bClone }), 'add');
    ok(B.git(['commit', '-qm', 'b2'], { cwd: bClone }), 'commit');
    const push = await timed(() => B.gitAsync(['push', '-q', 'origin', 'main'], { cwd: bClone }));
    const [h] = await holder;
    console.log(`trickling lock holder: B's push took ${push.ms} ms (receive_lock_max_s ${LIMITS.receive_lock_max_s})`);
    assert.equal(push.r.status, 0, push.r.stderr);
    assert.ok(push.ms < 45_000, `B's push waited ${push.ms} ms`);
    assert.match(h?.data ?? '', /gitback: push ended: it held the project's receive lock for 10 s .*\(E_LOCK_DEADLINE\)/);
  });

  await t.test('status: bounded per scan, and rate limited per uid (B is not)', async () => {
    const { ua, ub } = env;
    // repos pushed earlier by users of this envoy (made directly here: the quota story is below)
    for (let i = 0; i < 8; i++) {
      const r = await run('git', ['init', '--bare', '-q', bareOf(`${i}`.repeat(64))]);
      assert.equal(r.status, 0, r.stderr);
    }
    const res = await raw(ua, sock, Array.from({ length: LIMITS.status_per_uid_per_min + 3 }, () => ({ line: { v: 1, op: 'status' } })), 60_000, true);
    const answered = res.filter((c) => c.data.startsWith('{"ok":true'));
    const limited = res.filter((c) => c.data.includes('"code":"E_RATE_LIMITED"'));
    console.log(`status flood: ${answered.length} answered, ${limited.length} rate limited`);
    assert.ok(limited.length >= 3, JSON.stringify(res.map((c) => c.data.slice(0, 120))));
    assert.match(limited[0]?.data ?? '', /too many status requests from uid \d+ \(limit 10 a minute/);
    const first = JSON.parse(answered[0]?.data ?? '{}') as { status: { bare_repos: number; unsized_repos?: number } };
    assert.ok(first.status.bare_repos >= 9);
    assert.ok((first.status.unsized_repos ?? 0) >= first.status.bare_repos - LIMITS.status_max_repos, `a scan sizes at most ${LIMITS.status_max_repos} repos: ${answered[0]?.data.slice(0, 400)}`);
    const [b] = await raw(ub, sock, [{ line: { v: 1, op: 'status' } }], 20_000);
    assert.match(b?.data ?? '', /^\{"ok":true/);
  });

  await t.test('an aborted first push (pre-push hook, nothing matching) leaves no bare repo; status still says "no bare repo yet"', async () => {
    const { ua, A } = env;
    const work = workTreeWithCommit(A, ua, 'hooked', 'hooked commit');
    ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'hooked', '--no-push'], { cwd: work }), 'init --no-push');
    const hpid = projectId(A, 'hooked');
    const hook = join(work, '.git', 'hooks', 'pre-push');
    writeFileSync(hook, '#!/bin/sh\necho "pre-push: not today" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    chownSync(hook, ua.uid, ua.gid);
    const refused = A.git(['push', `gitback://${hpid}/hooked`, 'main'], { cwd: work });
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /not today/);
    const nothing = A.git(['push', `gitback://${hpid}/hooked`, 'refs/heads/nope:refs/heads/nope'], { cwd: work });
    assert.notEqual(nothing.status, 0);
    assert.equal(existsSync(bareOf(hpid)), false, 'no bare repo was created');
    // (the daemon's answer is cached for status_cache_s: ask until it includes the new project)
    let status = '';
    for (let i = 0; i < 20 && !/^ {4}hooked /m.test(status); i++) {
      await new Promise((r) => setTimeout(r, 1_000));
      status = ok(A.vigo(['swarm', 'gitback', 'status']), 'status').stdout;
    }
    assert.match(status, /^ {4}hooked\s+\S+\s+no bare repo yet/m);
  });

  await t.test('a per-user quota on bare repos: B creates 3, the 4th first push is refused and leaves nothing', async () => {
    const { ub, B } = env;
    for (const n of ['q1', 'q2', 'q3']) assert.ok(existsSync(bareOf(initProject(B, ub, n))));
    const work = workTreeWithCommit(B, ub, 'q4', 'q4 commit');
    ok(B.vigo(['swarm', 'gitback', 'project', 'init', 'q4', '--no-push'], { cwd: work }), 'init q4 --no-push');
    const q4 = projectId(B, 'q4');
    const push = B.git(['push', `gitback://${q4}/q4`, 'main'], { cwd: work });
    assert.notEqual(push.status, 0);
    assert.match(push.stderr, /E_REPO_QUOTA|already created 3 bare repos on this envoy, the quota \(gitback\.max_repos_per_uid = 3\)/);
    assert.equal(existsSync(bareOf(q4)), false);
  });
});
