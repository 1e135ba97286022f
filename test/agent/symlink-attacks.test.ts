// The agent runs as root and writes into directories its users own. A real unprivileged
// user attacks it with symlinks: (a) replacing a managed file's parent directory with a
// link to a root-owned directory elsewhere, (b) swapping a managed directory and file for
// links to a root-only file while runs repeat. Neither may make root write, chmod or
// chown anything the crate never named.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge } from '../../src/agent/engine/index.js';
import { createTestUser, removeTestUser, runAs, userEnv, userSupport, type TestUser } from '../helpers/users.js';
import { bundle, envoyRoot, statusOf } from './helpers.js';

const why = userSupport();

/** An envoy root the user can reach, with their home in it (owned by them, as useradd makes it). */
function hostWithUser(t: TestContext, tag: string): { root: string; opts: ReturnType<typeof envoyRoot>['opts']; u: TestUser; home: string; envoyHome: string } {
  const u = createTestUser(tag);
  t.after(() => removeTestUser(u));
  const { root, opts } = envoyRoot(t);
  chmodSync(root, 0o755);
  const envoyHome = `/home/${u.name}`;
  const home = join(root, envoyHome);
  mkdirSync(home, { recursive: true, mode: 0o755 });
  chownSync(home, u.uid, u.gid);
  return { root, opts, u, home, envoyHome };
}

function asUser(u: TestUser, cwd: string, script: string): void {
  const r = runAs(u, '/bin/sh', ['-c', script], { cwd });
  assert.equal(r.status, 0, `as ${u.name}: ${script}: ${r.stderr}`);
}

test('a user who turns a managed file\'s parent into a symlink cannot make root write through it', { skip: why ?? false }, async (t) => {
  const { root, opts, u, home, envoyHome } = hostWithUser(t, 'parent');
  // stands in for /etc/ld.so.conf.d: root's, and every file in it is read by root
  const target = join(root, 'etc/ld.so.conf.d');
  mkdirSync(target, { recursive: true, mode: 0o755 });
  const resources = [
    { type: 'directory', path: envoyHome, owner: u.name, mode: '0755' },
    { type: 'file', path: `${envoyHome}/.config/app.conf`, content: 'theme=dark\n', owner: u.name, mode: '0644', require: [`test:directory:${envoyHome}`] },
  ];
  const fileId = `test:file:${envoyHome}/.config/app.conf`;

  asUser(u, home, 'mkdir .config');
  const first = await converge(bundle(resources), opts);
  assert.equal(statusOf(first, fileId).status, 'changed', JSON.stringify(first.resources));
  assert.equal(readFileSync(join(home, '.config/app.conf'), 'utf8'), 'theme=dark\n');

  // the attack: .config becomes a link to root's directory
  asUser(u, home, `rm -rf .config && ln -s ${target} .config`);
  const second = await converge(bundle(resources), opts);
  const rep = statusOf(second, fileId);
  assert.equal(rep.status, 'failed');
  assert.match(rep.message, new RegExp(`^refused: ${envoyHome}/\\.config/app\\.conf: ${envoyHome}/\\.config is a symlink owned by uid ${u.uid}`));
  assert.match(rep.message, /follow_symlinks: true/, 'the message says how to follow it on purpose');
  assert.equal(rep.message.includes(root), false, 'envoy paths in the report, not host paths');
  assert.deepEqual(readdirSync(target), [], 'nothing was created in the directory the link points to');
  assert.equal(statusOf(second, `test:directory:${envoyHome}`).status, 'ok', 'the rest of the run goes on');

  // the user puts a real directory back: the next run writes there again
  asUser(u, home, 'rm .config && mkdir .config');
  const third = await converge(bundle(resources), opts);
  assert.equal(statusOf(third, fileId).status, 'changed');
  assert.equal(statSync(join(home, '.config/app.conf')).uid, u.uid);
  assert.deepEqual(readdirSync(target), []);
});

test('follow_symlinks: true follows a user\'s link on purpose; root\'s own links (like /var/run -> /run) are followed anyway', { skip: why ?? false }, async (t) => {
  const { root, opts, u, home, envoyHome } = hostWithUser(t, 'follow');
  mkdirSync(join(home, 'real'));
  chownSync(join(home, 'real'), u.uid, u.gid);
  asUser(u, home, 'ln -s real linked');
  mkdirSync(join(root, 'run'));
  mkdirSync(join(root, 'var'));
  symlinkSync('../run', join(root, 'var/run'));
  const r = await converge(
    bundle([
      { type: 'file', path: `${envoyHome}/linked/a.conf`, content: 'a\n', follow_symlinks: true },
      { type: 'file', path: '/var/run/app.pid', content: '42\n' },
      { type: 'directory', path: '/var/run/app' },
    ]),
    opts,
  );
  assert.deepEqual(r.counts, { ok: 0, changed: 3, failed: 0 }, JSON.stringify(r.resources));
  assert.equal(readFileSync(join(home, 'real/a.conf'), 'utf8'), 'a\n');
  assert.equal(readFileSync(join(root, 'run/app.pid'), 'utf8'), '42\n');
  assert.equal(statSync(join(root, 'run/app')).isDirectory(), true);
  assert.equal(lstatSync(join(root, 'var/run')).isSymbolicLink(), true, 'the link itself is untouched');
});

test('a root-owned link the user moved into their home is not followed (who can rename it there matters)', { skip: why ?? false }, async (t) => {
  const { root, opts, u, home, envoyHome } = hostWithUser(t, 'moved');
  const target = join(root, 'etc/cron.d');
  mkdirSync(target, { recursive: true });
  // the crate itself placed this root-owned link in the user's home …
  const first = await converge(bundle([{ type: 'symlink', path: `${envoyHome}/tools`, target: '/etc/cron.d' }]), opts);
  assert.equal(first.status, 'changed', JSON.stringify(first.resources));
  assert.equal(lstatSync(join(home, 'tools')).uid, 0);
  // … and the user renames it to where a managed file's parent is
  asUser(u, home, 'mv tools .config');
  const r = await converge(bundle([{ type: 'file', path: `${envoyHome}/.config/job`, content: '* * * * * root id\n' }]), opts);
  assert.equal(r.resources[0]!.status, 'failed');
  assert.match(r.resources[0]!.message, /is a symlink owned by uid 0 in a directory uid \d+ can write/);
  assert.deepEqual(readdirSync(target), []);
});

test('a user swapping a managed directory and file for links to a root-only file never changes its mode or owner', { skip: why ?? false }, async (t) => {
  const { root, opts, u, home, envoyHome } = hostWithUser(t, 'race');
  const secret = join(root, 'root-only');
  writeFileSync(secret, 'root secret\n', { mode: 0o600 });
  chmodSync(secret, 0o600);
  // owner by name: resolving it spawned getent between the check and the chmod, widening the window
  const b = bundle([
    { type: 'directory', path: `${envoyHome}/d`, owner: u.name, mode: '0755' },
    { type: 'file', path: `${envoyHome}/f`, owner: u.name, mode: '0644' },
  ]);
  // the user keeps both paths flipping, a syscall at a time, between a real node (with the
  // wrong mode, so every run has a chmod to make) and a link to the root-only file
  const flip = [
    "const fs = require('fs');",
    "fs.mkdirSync('d.real'); fs.writeFileSync('f.real', ''); fs.symlinkSync(process.argv[1], 'd.link'); fs.symlinkSync(process.argv[1], 'f.link');",
    "const mv = (a, b) => { try { fs.renameSync(a, b); } catch {} };",
    "for (;;) { for (const n of ['d', 'f']) { try { fs.chmodSync(n + '.real', 0o700); } catch {} mv(n + '.real', n); mv(n, n + '.real'); mv(n + '.link', n); mv(n, n + '.link'); } }",
  ].join('\n');
  const attacker = spawn(process.execPath, ['-e', flip, secret], { cwd: home, uid: u.uid, gid: u.gid, env: userEnv(u), stdio: 'ignore' });
  const stopped = new Promise((res) => attacker.once('exit', res));
  try {
    await raceRuns(t, b, opts, secret);
  } finally {
    // before the user and the root are removed (hooks run after this): it keeps writing there
    attacker.kill('SIGKILL');
    await stopped;
  }
  assert.equal(readFileSync(secret, 'utf8'), 'root secret\n');
});

/** Converge `b` again and again (15 s, at most 400 runs), checking after each that `secret` kept its mode and owner. */
async function raceRuns(t: TestContext, b: ReturnType<typeof bundle>, opts: ReturnType<typeof envoyRoot>['opts'], secret: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  let runs = 0;
  const outcomes = new Map<string, number>();
  const failures = new Set<string>();
  while (Date.now() < deadline && runs < 400) {
    const r = await converge(b, opts);
    runs++;
    for (const e of r.resources) {
      outcomes.set(e.status, (outcomes.get(e.status) ?? 0) + 1);
      if (e.status === 'failed') failures.add(e.message.replace(/\.vigo-\d+-[0-9a-f]+/g, '.vigo-*'));
    }
    const st = statSync(secret);
    assert.equal(st.mode & 0o7777, 0o600, `run ${runs}: the root-only file's mode changed (${(st.mode & 0o7777).toString(8)})`);
    assert.equal(st.uid, 0, `run ${runs}: the root-only file's owner changed`);
  }
  t.diagnostic(`${runs} runs against the swapping user; resource outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
  t.diagnostic(`failures seen: ${[...failures].slice(0, 8).join(' | ')}`);
  assert.ok(runs >= 20, `only ${runs} runs in the time allowed`);
}
