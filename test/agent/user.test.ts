import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge, readUsercratePolicy } from '../../src/agent/engine/index.js';
import { bundle, envoyRoot, statusOf } from './helpers.js';

// Real accounts (CI runs as root): a user and a group to own files, and one that
// `manage: true` creates and removes.
const OWNER = 'vgtengown';
const GROUP = 'vgtenggrp';
const MANAGED = 'vgtengmgd';

function exists(db: 'passwd' | 'group', name: string): boolean {
  return spawnSync('getent', [db, name]).status === 0;
}
function id(db: 'passwd' | 'group', name: string): number {
  return Number(execFileSync('getent', [db, name], { encoding: 'utf8' }).split(':')[2]);
}

before(() => {
  if (!exists('group', GROUP)) execFileSync('groupadd', [GROUP]);
  if (!exists('passwd', OWNER)) execFileSync('useradd', ['-M', '-N', OWNER]);
  if (exists('passwd', MANAGED)) execFileSync('userdel', ['-r', MANAGED], { stdio: 'ignore' });
});
after(() => {
  for (const u of [OWNER, MANAGED]) if (exists('passwd', u)) spawnSync('userdel', ['-r', u], { stdio: 'ignore' });
  if (exists('group', GROUP)) spawnSync('groupdel', [GROUP]);
  rmSync(`/home/${MANAGED}`, { recursive: true, force: true }); // userdel without -r keeps it
});

test('owner and group are set by name, and a hand chown is put back', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([
    { type: 'directory', path: '/srv/app', owner: OWNER, group: GROUP, mode: '0750' },
    { type: 'file', path: '/srv/app/conf', content: 'a=1\n', owner: OWNER, group: GROUP, mode: '0640' },
  ]);
  assert.equal((await converge(b, opts)).status, 'changed');
  for (const p of ['srv/app', 'srv/app/conf']) {
    const st = statSync(join(root, p));
    assert.equal(st.uid, id('passwd', OWNER), p);
    assert.equal(st.gid, id('group', GROUP), p);
  }
  chownSync(join(root, 'srv/app/conf'), 0, 0);
  const r = await converge(b, opts);
  assert.equal(statusOf(r, 'test:file:/srv/app/conf').message, `owner 0 → ${OWNER}, group 0 → ${GROUP}`);
  assert.equal(statSync(join(root, 'srv/app/conf')).uid, id('passwd', OWNER));
  assert.equal((await converge(b, opts)).status, 'ok');
});

test('an unknown owner fails that resource with a clear message', async (t) => {
  const { root, opts } = envoyRoot(t);
  const r = await converge(bundle([{ type: 'file', path: '/f', content: 'x', owner: 'vgtnosuchuser' }]), opts);
  assert.equal(r.resources[0]!.message, 'unknown user "vgtnosuchuser" on this envoy');
  assert.equal(existsSync(join(root, 'f')), false);
});

test('a user resource writes the usercrate policy file (the gitback gate), 0644, and removes it when absent', async (t) => {
  const { opts } = envoyRoot(t);
  const file = join(opts.usercratePolicyDir, 'dan.json');
  const b = bundle([{ type: 'user', name: 'dan', puddle: true, gitback: true, configcrate: 'people' }]);
  const r1 = await converge(b, opts);
  assert.deepEqual(statusOf(r1, 'people:user:dan'), { status: 'changed', message: 'usercrate policy written (puddle: true, gitback: true)' });
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { version: 1, user: 'dan', puddle: true, gitback: true, source: 'people:user:dan' });
  assert.equal(statSync(file).mode & 0o7777, 0o644);
  assert.equal(statSync(opts.usercratePolicyDir).mode & 0o7777, 0o755);
  assert.deepEqual(readUsercratePolicy(opts.usercratePolicyDir, 'dan'), { version: 1, user: 'dan', puddle: true, gitback: true, source: 'people:user:dan' });
  assert.equal((await converge(b, opts)).status, 'ok');

  const revoked = bundle([{ type: 'user', name: 'dan', puddle: true, gitback: false, configcrate: 'people' }]);
  assert.equal((await converge(revoked, opts)).status, 'changed');
  assert.equal(readUsercratePolicy(opts.usercratePolicyDir, 'dan')?.gitback, false);

  const gone = await converge(bundle([{ type: 'user', name: 'dan', state: 'absent', configcrate: 'people' }]), opts);
  assert.equal(statusOf(gone, 'people:user:dan').message, 'usercrate policy removed');
  assert.equal(existsSync(file), false);
  assert.equal(readUsercratePolicy(opts.usercratePolicyDir, 'dan'), null);
});

test('a policy file for a user no resource names any more is removed', async (t) => {
  const { opts } = envoyRoot(t);
  mkdirSync(opts.usercratePolicyDir, { recursive: true });
  writeFileSync(join(opts.usercratePolicyDir, 'eve.json'), JSON.stringify({ version: 1, user: 'eve', puddle: true, gitback: true, source: 'x' }));
  const r = await converge(bundle([{ type: 'user', name: 'dan', gitback: true }]), opts);
  assert.deepEqual(statusOf(r, 'vigo:user:eve'), { status: 'changed', message: 'stale usercrate policy removed (no user resource names eve)' });
  assert.equal(existsSync(join(opts.usercratePolicyDir, 'eve.json')), false);
  assert.equal(readUsercratePolicy(opts.usercratePolicyDir, 'dan')?.gitback, true);
});

test('a tampered policy file is rewritten, and the reader refuses what it does not understand', async (t) => {
  const { opts } = envoyRoot(t);
  const b = bundle([{ type: 'user', name: 'dan', gitback: false }]);
  await converge(b, opts);
  const file = join(opts.usercratePolicyDir, 'dan.json');
  writeFileSync(file, JSON.stringify({ version: 1, user: 'dan', puddle: false, gitback: true, source: 'me', extra: 1 }));
  assert.throws(() => readUsercratePolicy(opts.usercratePolicyDir, 'dan'), /dan\.json: unknown field extra/);
  assert.equal((await converge(b, opts)).status, 'changed');
  assert.equal(readUsercratePolicy(opts.usercratePolicyDir, 'dan')?.gitback, false);
});

test('manage: true creates the Unix account, and absent removes it (home kept)', async (t) => {
  const { opts } = envoyRoot(t);
  const r1 = await converge(bundle([{ type: 'user', name: MANAGED, manage: true }]), opts);
  assert.equal(statusOf(r1, `test:user:${MANAGED}`).message, 'account created, usercrate policy written (puddle: false, gitback: false)');
  assert.equal(exists('passwd', MANAGED), true);
  assert.equal((await converge(bundle([{ type: 'user', name: MANAGED, manage: true }]), opts)).status, 'ok');
  const r2 = await converge(bundle([{ type: 'user', name: MANAGED, manage: true, state: 'absent' }]), opts);
  assert.equal(statusOf(r2, `test:user:${MANAGED}`).message, 'account removed, usercrate policy removed');
  assert.equal(exists('passwd', MANAGED), false);
});

test('without manage, a user resource never touches accounts', async (t) => {
  const { opts } = envoyRoot(t);
  await converge(bundle([{ type: 'user', name: MANAGED, gitback: true }]), opts);
  assert.equal(exists('passwd', MANAGED), false);
});
