// Founder rekey end to end (ADR-019) with real puddles: rekey-pair appends delegations,
// re-invite-all + rejoin keep a cross-puddle member pushing, the fifth rekey reaches the
// cap, re-found moves every ref to a new project id and tombstones the old one (which the
// daemon then refuses); then gc-orphans and purge as the page describes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userSupport, type TestUser } from '../helpers/users.js';
import { vigoBin } from '../gitback/harness.js';
import { grantGitback, ok, setupPuddle, twoUserEnvoy, type Sh } from '../gitback/users-env.js';
import { run } from '../gitback/proc.js';

const why = userSupport();

test('rekey → re-invite-all → rejoin → keeps pushing; AT CAP; re-found; gc-orphans; purge', { skip: why ?? false, timeout: 115_000 }, async () => {
  const { dir, envoy, ua, ub, A, B } = await twoUserEnvoy('gbr', 0.3);
  grantGitback(envoy, ua);
  grantGitback(envoy, ub);
  setupPuddle(A);
  const pkB = setupPuddle(B);
  const projects = join(envoy.root, 'var/lib/vigo/swarm/gitback/projects');
  const refsOf = async (pid: string) => (await run('git', ['--git-dir', join(projects, `${pid}.git`), 'for-each-ref', '--format=%(objectname) %(refname)'])).stdout;

  const work = join(ua.home, 'team');
  ok(A.git(['init', '-q', '-b', 'main', work]), 'git init');
  const commit = (sh: Sh, u: TestUser, cwd: string, name: string) => {
    writeFileSync(join(cwd, `${name}.txt`), `${name}\n`);
    chownSync(join(cwd, `${name}.txt`), u.uid, u.gid);
    ok(sh.git(['add', '.'], { cwd }), 'git add');
    ok(sh.git(['commit', '-qm', name], { cwd }), 'git commit');
  };
  commit(A, ua, work, 'genesis');
  const init = ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'team', '--scope', 'members-only'], { cwd: work }), 'init');
  const pid = /gitback:\/\/([0-9a-f]{64})\/team/.exec(init.stdout)?.[1] as string;
  const inv = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'team', '--puddle', pkB, '--role', 'member']), 'invite').stdout;
  ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid, '--invitation', '-'], { input: inv }), 'join');
  const clone = join(ub.home, 'team');
  ok(B.git(['clone', '-q', `gitback://${pid}/team`, clone]), 'clone');

  for (let i = 1; i <= 5; i++) {
    const rk = ok(A.vigo(['swarm', 'puddle', 'rekey-pair']), `rekey ${i}`);
    assert.match(rk.stdout + rk.stderr, new RegExp(`team: delegation ${i}/5 appended`));
    const re = ok(A.vigo(['swarm', 'gitback', 'project', 're-invite-all']), `re-invite-all ${i}`);
    assert.match(re.stderr, /re-invite for project 'team'/);
    assert.match(re.stderr, /✓ 1 re-invite invitation\(s\) printed/);
    const rj = ok(B.vigo(['swarm', 'gitback', 'project', 'rejoin', 'team', '--invitation', '-'], { input: re.stdout }), `rejoin ${i}`);
    assert.match(rj.stdout, /✓ Re-joined project team \(chain refreshed\)/);
    assert.match(rj.stdout, new RegExp(`Delegations: ${i} hop\\(s\\)`));
    // the member keeps pushing; the founder (under its new key) keeps pushing too
    commit(B, ub, clone, `member-after-rekey-${i}`);
    ok(B.git(['push', '-q', 'origin', 'main'], { cwd: clone }), `member push ${i}`);
    ok(A.git(['pull', '-q', '--ff-only', 'swarm', 'main'], { cwd: work }), `founder pull ${i}`);
    commit(A, ua, work, `founder-after-rekey-${i}`);
    ok(A.git(['push', '-q', 'swarm', 'main'], { cwd: work }), `founder push ${i}`);
    ok(B.git(['pull', '-q', '--ff-only', 'origin', 'main'], { cwd: clone }), `member pull ${i}`);
    if (i === 3) assert.match(ok(A.vigo(['swarm', 'gitback', 'project', 'status', 'team']), 'status').stdout, /warn band/);
  }
  const st = ok(A.vigo(['swarm', 'gitback', 'project', 'status', 'team']), 'status at cap').stdout;
  assert.match(st, /Delegations:\s+5\/5/);
  assert.match(st, /AT CAP/);
  const sixth = A.vigo(['swarm', 'puddle', 'rekey-pair']);
  assert.notEqual(sixth.status, 0);
  assert.match(sixth.stderr, /--force-orphan-projects/);

  // re-found: typed confirmation, every ref moved to a new id, the old tombstoned
  const wrong = A.vigo(['swarm', 'gitback', 'project', 're-found', 'team'], { input: 'nope\n' });
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /not confirmed/);
  const rf = ok(A.vigo(['swarm', 'gitback', 'project', 're-found', 'team'], { input: 'team\n' }), 're-found');
  const newPid = /Project ID:\s+([0-9a-f]{64})/.exec(rf.stdout)?.[1] as string;
  assert.ok(newPid && newPid !== pid);
  assert.match(rf.stdout, /Migrated \d+ ref\(s\)/);
  assert.equal(await refsOf(newPid), await refsOf(pid));
  const oldStatus = ok(A.vigo(['swarm', 'gitback', 'project', 'status', pid]), 'old status').stdout;
  assert.match(oldStatus, /TOMBSTONED/);
  const refused = A.git(['push', 'swarm', 'main'], { cwd: work });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /E_TOMBSTONED/);
  const pushed = ok(A.vigo(['swarm', 'gitback', 'project', 'push', 'team'], { cwd: work }), 'project push');
  assert.match(pushed.stdout, /re-pointed/);
  assert.match(pushed.stdout, /✓ Pushed/);
  assert.equal(A.git(['remote', 'get-url', 'swarm'], { cwd: work }).stdout.trim(), `gitback://${newPid}/team`);
  // the envoy learns the tombstone from the founder's state: the member is refused too
  const tomb = join(envoy.root, 'var/lib/vigo/swarm/gitback/tombstones', `${pid}.json`);
  for (let i = 0; i < 100 && !existsSync(tomb); i++) await new Promise((r) => setTimeout(r, 100));
  const memberOld = B.git(['fetch', 'origin'], { cwd: clone });
  assert.notEqual(memberOld.status, 0);
  assert.match(memberOld.stderr, /E_TOMBSTONED/);

  // purge as the user: ~/.vigo-gitback only; the root-owned bare repos survive
  const dry = ok(A.vigo(['swarm', 'gitback', 'purge']), 'purge dry-run');
  assert.match(dry.stdout, /dry-run/);
  const userPurge = ok(A.vigo(['swarm', 'gitback', 'purge', '--yes']), 'purge');
  assert.match(userPurge.stdout, /survive; rerun under sudo/);
  assert.equal(existsSync(join(ua.home, '.vigo-gitback')), false);
  assert.ok(existsSync(join(projects, `${newPid}.git`)) && existsSync(join(projects, `${pid}.git`)));

  // gc-orphans: root only; lists exactly the repos no passwd user holds (B still holds the old id)
  const notRoot = A.vigo(['swarm', 'gitback', 'gc-orphans']);
  assert.notEqual(notRoot.status, 0);
  assert.match(notRoot.stderr, /requires root/);
  const rootHome = join(dir, 'root-home');
  mkdirSync(rootHome);
  const rootEnv = { ...process.env, HOME: rootHome, VIGO_ROOT: envoy.root };
  const gc = await run(process.execPath, [vigoBin, 'swarm', 'gitback', 'gc-orphans'], { env: rootEnv });
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(gc.stdout, /^1 orphan bare repo\(s\)/);
  assert.match(gc.stdout, new RegExp(`^  ${newPid} `, 'm'));
  assert.doesNotMatch(gc.stdout, new RegExp(pid));
  assert.match(gc.stdout, /dry-run — nothing deleted/);
  const gcYes = await run(process.execPath, [vigoBin, 'swarm', 'gitback', 'gc-orphans', '--yes'], { env: rootEnv });
  assert.equal(gcYes.status, 0, gcYes.stderr);
  assert.equal(existsSync(join(projects, `${newPid}.git`)), false);
  assert.ok(existsSync(join(projects, `${pid}.git`)));

  // purge as root: the envoy's bare repos go; other users' state is not touched
  const rootPurge = await run(process.execPath, [vigoBin, 'swarm', 'gitback', 'purge', '--yes'], { env: rootEnv });
  assert.equal(rootPurge.status, 0, rootPurge.stderr);
  assert.equal(existsSync(projects), false);
  assert.ok(existsSync(join(ub.home, '.vigo-gitback', pid, 'project.json')));
});
