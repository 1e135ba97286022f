import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge } from '../../src/agent/engine/index.js';
import { bundle, envoyRoot, statusOf } from './helpers.js';

const mode = (p: string): number => statSync(p).mode & 0o7777;

test('a file is created, a hand edit is put back (changed), then the run is ok', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([{ type: 'file', path: '/etc/motd', content: 'hello web-01\n', mode: '0640' }], 7);
  const first = await converge(b, opts);
  assert.equal(first.status, 'changed');
  assert.equal(first.policy_version, 7);
  assert.deepEqual(first.counts, { ok: 0, changed: 1, failed: 0 });
  assert.equal(readFileSync(join(root, 'etc/motd'), 'utf8'), 'hello web-01\n');
  assert.equal(mode(join(root, 'etc/motd')), 0o640);

  writeFileSync(join(root, 'etc/motd'), 'edited by hand\n');
  const second = await converge(b, opts);
  assert.equal(second.status, 'changed');
  assert.equal(statusOf(second, 'test:file:/etc/motd').message, 'content updated');
  assert.equal(readFileSync(join(root, 'etc/motd'), 'utf8'), 'hello web-01\n');

  const third = await converge(b, opts);
  assert.equal(third.status, 'ok');
  assert.deepEqual(third.counts, { ok: 1, changed: 0, failed: 0 });
});

test('only the mode differs: the file is chmod-ed, not rewritten', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([{ type: 'file', path: '/etc/app.conf', content: 'x=1\n', mode: '0600' }]);
  await converge(b, opts);
  const p = join(root, 'etc/app.conf');
  const ino = statSync(p).ino;
  chmodSync(p, 0o666);
  const r = await converge(b, opts);
  assert.equal(statusOf(r, 'test:file:/etc/app.conf').message, 'mode 0666 → 0600');
  assert.equal(mode(p), 0o600);
  assert.equal(statSync(p).ino, ino, 'same inode: not rewritten');
});

test('a managed file with another hard link gets its own copy; the other name keeps its mode', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'srv'));
  const other = join(root, 'srv/secret.key');
  writeFileSync(other, 'key\n', { mode: 0o600 });
  chmodSync(other, 0o600);
  const p = join(root, 'etc/app.conf');
  linkSync(other, p); // one inode, two names: chmod-ing one would open the other
  const r = await converge(bundle([{ type: 'file', path: '/etc/app.conf', mode: '0644' }]), opts);
  assert.equal(statusOf(r, 'test:file:/etc/app.conf').message, 'mode 0600 → 0644, own copy made (it had 1 other hard link)');
  assert.equal(mode(p), 0o644);
  assert.equal(readFileSync(p, 'utf8'), 'key\n');
  assert.equal(mode(other), 0o600, 'the name the crate never named keeps its mode');
  assert.notEqual(statSync(p).ino, statSync(other).ino);
  assert.equal(statSync(other).nlink, 1);
});

test('rewriting content keeps the metadata of the old file when mode is unmanaged', async (t) => {
  const { root, opts } = envoyRoot(t);
  const p = join(root, 'etc/keep');
  mkdirSync(join(root, 'etc'));
  writeFileSync(p, 'old\n');
  chmodSync(p, 0o604);
  const r = await converge(bundle([{ type: 'file', path: '/etc/keep', content: 'new\n' }]), opts);
  assert.equal(r.status, 'changed');
  assert.equal(readFileSync(p, 'utf8'), 'new\n');
  assert.equal(mode(p), 0o604);
});

test('file absent removes it, then reports ok; refuses to remove a directory', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc/d'), { recursive: true });
  writeFileSync(join(root, 'etc/gone'), 'x');
  const b = bundle([
    { type: 'file', path: '/etc/gone', state: 'absent' },
    { type: 'file', path: '/etc/d', state: 'absent' },
  ]);
  const r = await converge(b, opts);
  assert.equal(statusOf(r, 'test:file:/etc/gone').status, 'changed');
  assert.equal(existsSync(join(root, 'etc/gone')), false);
  assert.match(statusOf(r, 'test:file:/etc/d').message, /is a directory/);
  assert.equal(r.status, 'failed');
  const again = await converge(bundle([{ type: 'file', path: '/etc/gone', state: 'absent' }]), opts);
  assert.equal(again.status, 'ok');
});

test('a symlink standing where a file belongs is replaced by the file, its target untouched', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'precious'), 'keep me');
  symlinkSync(join(root, 'precious'), join(root, 'etc/motd'));
  const r = await converge(bundle([{ type: 'file', path: '/etc/motd', content: 'hi\n' }]), opts);
  assert.equal(r.status, 'changed');
  assert.equal(lstatSync(join(root, 'etc/motd')).isFile(), true);
  assert.equal(readFileSync(join(root, 'precious'), 'utf8'), 'keep me');
});

test('directories: created with mode, absent removes only when empty unless recurse', async (t) => {
  const { root, opts } = envoyRoot(t);
  const r1 = await converge(bundle([{ type: 'directory', path: '/opt/app/data', mode: '0750' }]), opts);
  assert.equal(r1.status, 'changed');
  assert.equal(mode(join(root, 'opt/app/data')), 0o750);
  assert.equal((await converge(bundle([{ type: 'directory', path: '/opt/app/data', mode: '0750' }]), opts)).status, 'ok');

  writeFileSync(join(root, 'opt/app/data/f'), 'x');
  const refused = await converge(bundle([{ type: 'directory', path: '/opt/app/data', state: 'absent' }]), opts);
  assert.equal(refused.status, 'failed');
  assert.match(refused.resources[0]!.message, /not empty .*recurse: true/);
  assert.equal(existsSync(join(root, 'opt/app/data/f')), true);

  const removed = await converge(bundle([{ type: 'directory', path: '/opt/app/data', state: 'absent', recurse: true }]), opts);
  assert.equal(removed.status, 'changed');
  assert.equal(existsSync(join(root, 'opt/app/data')), false);

  const empty = await converge(bundle([{ type: 'directory', path: '/opt/app', state: 'absent' }]), opts);
  assert.equal(empty.status, 'changed');
  assert.equal(existsSync(join(root, 'opt/app')), false);
});

test('a directory resource refuses to replace a file', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'opt'));
  writeFileSync(join(root, 'opt/app'), 'file');
  const r = await converge(bundle([{ type: 'directory', path: '/opt/app' }]), opts);
  assert.equal(r.status, 'failed');
  assert.match(r.resources[0]!.message, /regular file; refusing/);
  assert.equal(readFileSync(join(root, 'opt/app'), 'utf8'), 'file');
});

test('symlinks: created under the root, a wrong link replaced, a file needs force', async (t) => {
  const { root, opts } = envoyRoot(t);
  const link = join(root, 'opt/current');
  const r1 = await converge(bundle([{ type: 'symlink', path: '/opt/current', target: '/opt/app-1' }]), opts);
  assert.equal(r1.status, 'changed');
  assert.equal(readlinkSync(link), join(root, 'opt/app-1'), 'absolute targets are re-rooted under fsRoot');
  assert.equal((await converge(bundle([{ type: 'symlink', path: '/opt/current', target: '/opt/app-1' }]), opts)).status, 'ok');

  const r2 = await converge(bundle([{ type: 'symlink', path: '/opt/current', target: 'app-2' }]), opts);
  assert.equal(r2.status, 'changed');
  assert.equal(readlinkSync(link), 'app-2');

  writeFileSync(join(root, 'opt/plain'), 'data');
  const noForce = await converge(bundle([{ type: 'symlink', path: '/opt/plain', target: 'app-2' }]), opts);
  assert.equal(noForce.status, 'failed');
  assert.match(noForce.resources[0]!.message, /force: true/);
  assert.equal(readFileSync(join(root, 'opt/plain'), 'utf8'), 'data');

  const forced = await converge(bundle([{ type: 'symlink', path: '/opt/plain', target: 'app-2', force: true }]), opts);
  assert.equal(forced.status, 'changed');
  assert.equal(readlinkSync(join(root, 'opt/plain')), 'app-2');

  const gone = await converge(bundle([{ type: 'symlink', path: '/opt/current', state: 'absent' }]), opts);
  assert.equal(gone.status, 'changed');
  assert.equal(existsSync(link), false);
  mkdirSync(join(root, 'opt/dir'));
  const notLink = await converge(bundle([{ type: 'symlink', path: '/opt/dir', state: 'absent' }]), opts);
  assert.match(notLink.resources[0]!.message, /not a symlink; refusing/);
  assert.equal(existsSync(join(root, 'opt/dir')), true);
});

test('dryRun reports what would change and changes nothing', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/old'), 'x');
  chmodSync(join(root, 'etc/old'), 0o600);
  const b = bundle([
    { type: 'file', path: '/etc/new', content: 'n' },
    { type: 'file', path: '/etc/old', content: 'y', mode: '0644' },
    { type: 'directory', path: '/opt/d' },
    { type: 'symlink', path: '/opt/l', target: '/etc/new' },
    { type: 'exec', command: 'touch "$VIGO_FSROOT/ran"' },
    { type: 'user', name: 'dan', gitback: true },
  ]);
  const r = await converge(b, { ...opts, dryRun: true });
  assert.equal(r.status, 'changed');
  assert.deepEqual(r.counts, { ok: 0, changed: 6, failed: 0 });
  for (const e of r.resources) assert.match(e.message, /^\(dry run\)/);
  assert.match(statusOf(r, 'test:file:/etc/old').message, /content updated, mode 0600 → 0644/);
  assert.equal(existsSync(join(root, 'etc/new')), false);
  assert.equal(readFileSync(join(root, 'etc/old'), 'utf8'), 'x');
  assert.equal(mode(join(root, 'etc/old')), 0o600);
  assert.equal(existsSync(join(root, 'opt')), false);
  assert.equal(existsSync(join(root, 'ran')), false);
  assert.equal(existsSync(opts.usercratePolicyDir), false);
});

test('the run report has the contract shape: counts, status, started_at, duration, configcrates', async (t) => {
  const { opts } = envoyRoot(t);
  let clock = Date.parse('2026-11-25T02:00:00.000Z');
  const b = bundle([
    { type: 'directory', path: '/opt/a', configcrate: 'one' },
    { type: 'file', path: '/opt/a/f', content: 'x', configcrate: 'two' },
    { type: 'file', path: '/var/lib/vigo/evil', content: 'x', configcrate: 'two' },
  ]);
  const r = await converge(b, { ...opts, now: () => (clock += 6) });
  assert.deepEqual(Object.keys(r).sort(), ['configcrates', 'counts', 'duration_ms', 'policy_version', 'resources', 'started_at', 'status']);
  assert.equal(r.started_at, '2026-11-25T02:00:00.006Z');
  assert.equal(r.duration_ms, 6);
  assert.equal(r.configcrates, 2);
  assert.equal(r.status, 'failed');
  assert.deepEqual(r.counts, { ok: 0, changed: 2, failed: 1 });
  assert.deepEqual(Object.keys(r.resources[0]!).sort(), ['id', 'message', 'status', 'type']);
});

test('an I/O failure is reported with envoy paths, and the rest of the run goes on', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/motd'), 'a file, not a directory');
  const r = await converge(bundle([{ type: 'file', path: '/etc/motd/inner', content: 'x' }, { type: 'directory', path: '/opt/x' }]), opts);
  assert.deepEqual(r.counts, { ok: 0, changed: 1, failed: 1 });
  const msg = r.resources[0]!.message;
  assert.match(msg, /ENOTDIR/);
  assert.equal(msg.includes(root), false, msg);
});

test('symlink force replaces a directory; a directory resource refuses a symlink; dry-run absents change nothing', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'opt/old/sub'), { recursive: true });
  writeFileSync(join(root, 'opt/old/sub/f'), 'x');
  const forced = await converge(bundle([{ type: 'symlink', path: '/opt/old', target: 'new', force: true }]), opts);
  assert.equal(forced.resources[0]!.message, 'directory replaced by a symlink → new');
  assert.equal(readlinkSync(join(root, 'opt/old')), 'new');

  const refused = await converge(bundle([{ type: 'directory', path: '/opt/old' }]), opts);
  assert.match(refused.resources[0]!.message, /^\/opt\/old is a symlink; refusing to replace it with a directory$/);

  writeFileSync(join(root, 'opt/f'), 'x');
  mkdirSync(join(root, 'opt/d/e'), { recursive: true });
  const dry = await converge(
    bundle([
      { type: 'file', path: '/opt/f', state: 'absent' },
      { type: 'directory', path: '/opt/d', state: 'absent', recurse: true },
      { type: 'symlink', path: '/opt/old', state: 'absent' },
    ]),
    { ...opts, dryRun: true },
  );
  assert.deepEqual(dry.resources.map((r) => r.message), ['(dry run) removed', '(dry run) removed with 1 entry', '(dry run) removed']);
  assert.equal(existsSync(join(root, 'opt/f')), true);
  assert.equal(existsSync(join(root, 'opt/d/e')), true);
  assert.equal(lstatSync(join(root, 'opt/old')).isSymbolicLink(), true);
});
