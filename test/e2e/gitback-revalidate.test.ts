// A revocation ends the revoked member's OPEN sessions at the next sweep, not only new
// ones (issue 8 item 3); then, with the agent stopped, a user's `status` is a local scan
// of what that user can see (issue 10 item 2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userSupport } from '../helpers/users.js';
import { programDist } from '../helpers/program.js';
import { grantGitback, ok, setupPuddle, twoUserEnvoy, userExtraEnv, workTreeWithCommit } from '../gitback/users-env.js';
import { run } from '../gitback/proc.js';
import { raw } from '../gitback/hostile.js';

const why = userSupport();

test('an operator revokes a member with sessions open, then the agent stops', { skip: why ?? false, timeout: 300_000 }, async (t) => {
  const { envoy, agent, ua, ub, A, B } = await twoUserEnvoy('gr', 0.5);
  const sock = join(envoy.root, 'var/run/vigo/gitback.sock');
  grantGitback(envoy, ua);
  grantGitback(envoy, ub);
  setupPuddle(A);
  const pkB = setupPuddle(B);
  const work = workTreeWithCommit(A, ua, 'shared', 'founding commit');
  const pid = /gitback:\/\/([0-9a-f]{64})\//.exec(ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'shared'], { cwd: work }), 'init').stdout)?.[1] as string;
  const inv = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'shared', '--puddle', `ed25519:${pkB}`, '--role', 'member']), 'invite B');
  const tokenB = /token id: ([0-9a-f]{64})/.exec(inv.stderr)?.[1] as string;
  ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv.stdout }), 'B join');
  const clone = join(ub.home, 'shared');
  ok(B.git(['clone', '-q', `gitback://${pid}/shared`, clone]), 'B clone');
  writeFileSync(join(clone, 'b.txt'), 'b\n');
  chownSync(join(clone, 'b.txt'), ub.uid, ub.gid);
  ok(B.git(['add', '.'], { cwd: clone }), 'add');
  ok(B.git(['commit', '-qm', 'b'], { cwd: clone }), 'commit');

  await t.test('revoking B ends B’s open sessions at the next sweep (a push in its pre-push hook, a push queued for the lock, an open fetch), each told E_REVOKED', async () => {
    // B's push is in its pre-push hook (the daemon's receive-pack has advertised and holds
    // the project's receive lock); B's second push queues behind it; B has a fetch session open
    const hook = join(clone, '.git', 'hooks', 'pre-push');
    const release = join(ub.home, 'release-hook');
    writeFileSync(hook, `#!/bin/sh\nwhile [ ! -e ${release} ]; do sleep 0.1; done\nexit 0\n`);
    chmodSync(hook, 0o755);
    chownSync(hook, ub.uid, ub.gid);
    const hooked = B.gitAsync(['push', 'origin', 'main'], { cwd: clone });
    const clone2 = join(ub.home, 'shared2');
    ok(B.git(['clone', '-q', `gitback://${pid}/shared`, clone2]), 'B clone 2');
    await new Promise((r) => setTimeout(r, 1_000));
    const waiting = B.gitAsync(['push', 'origin', 'HEAD:refs/heads/second'], { cwd: clone2 });
    const openFetch = raw(ub, sock, [{ line: { v: 1, op: 'connect', service: 'git-upload-pack', project_id: pid, handle: 'shared', git_protocol: 'version=2' } }], 40_000);
    await new Promise((r) => setTimeout(r, 1_500));

    const t0 = Date.now();
    ok(A.vigo(['swarm', 'gitback', 'project', 'revoke', 'shared', '--token-id', tokenB, '--reason', 'left the team']), 'revoke B');
    const queued = await waiting;
    const [fetchSession] = await openFetch;
    console.log(`revocation: B's queued push and open fetch were ended within ${Date.now() - t0} ms of the revoke command starting (sweep every 0.5 s)`);
    writeFileSync(release, '');
    const inHook = await hooked;
    console.log(`revocation: B's push that was in its pre-push hook said:\n${inHook.stderr}`);
    assert.notEqual(queued.status, 0);
    // answered at once, it was queued for the lock in git's protocol: the refusal is an ERR packet
    assert.match(queued.stderr, /fatal: remote error: gitback: access to shared refused \(E_REVOKED\): .*left the team/);
    assert.match(fetchSession?.data ?? '', /ERR gitback: access to shared refused \(E_REVOKED\): .*left the team/);
    assert.ok(fetchSession?.closedAt !== null && (fetchSession?.closedAt ?? Infinity) < 39_000, 'the open session was closed by the daemon');
    assert.notEqual(inHook.status, 0);
    assert.match(inHook.stderr, /remote: gitback: access to shared refused \(E_REVOKED\): .*left the team/);
    assert.match(agent.log(), /ended [1-3] open session\(s\) the access check now refuses/);
    const bare = join(envoy.root, 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
    assert.notEqual((await run('git', ['--git-dir', bare, 'log', '-1', '--format=%s', 'main'])).stdout.trim(), 'b', 'the revoked push did not land');

  });

  await t.test('with the agent stopped, B’s status is a partial local scan of what B can read (issue 10 item 2)', async () => {
    await agent.stop();
    const st = B.vigo(['swarm', 'gitback', 'status']);
    assert.equal(st.status, 0, st.stderr);
    assert.doesNotMatch(st.stderr, /EACCES/);
    assert.match(st.stdout, /partial data:/);
    assert.match(st.stdout, /^ {4}shared /m);
    const scan = `import('${join(programDist, 'src/gitback/status.js')}').then(async (m) => { const s = await import('${join(programDist, 'src/gitback/state.js')}'); process.stdout.write(JSON.stringify(m.collectStatus(process.env, [{ home: process.env.HOME, read: s.plainReader }], true, { nowMs: Date.now() }))); })`;
    const r = await run(process.execPath, ['-e', scan], { uid: ub.uid, gid: ub.gid, env: { HOME: ub.home, PATH: process.env.PATH, ...userExtraEnv(envoy, ub) }, timeoutMs: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const partial = JSON.parse(r.stdout) as { partial: boolean; skipped?: string[]; projects: { handle: string }[] };
    assert.equal(partial.partial, true);
    assert.ok(partial.projects.some((p) => p.handle === 'shared'));
    const skipped = (partial.skipped ?? []).join('\n');
    assert.match(skipped, /gitback\/envelopes \(envelope store: EACCES; readable by root only/);
    assert.match(skipped, /gitback\/projects \(bare repos: EACCES; readable by root only\)/);
  });
  });
