// The fd-based file calls a root process uses to write into directories other users
// control: each call on a real directory, the refusals (a symlink component, '..' or '/'
// in a name), and a symlink planted by a real unprivileged user being refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  O,
  type AtStat,
  closeFd,
  fchmodFd,
  fchownFd,
  fdPath,
  fstatFd,
  fstatat,
  mkdirat,
  openDirAt,
  openDirNoFollow,
  openat,
  readdirFd,
  readlinkat,
  removeTreeAt,
  renameat,
  symlinkat,
  unlinkat,
  withFd,
} from '../../src/platform/fsat.js';
import { loadNativeAddon } from '../../src/platform/peercred.js';
import { createTestUser, removeTestUser, runAs, userSupport } from '../helpers/users.js';

function scratch(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'vgt-fsat-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The error `fn` throws (assert.throws, but returning it for further checks). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  assert.fail('expected an error');
}

/** O_CLOEXEC as the kernel records it for this fd (/proc/self/fdinfo flags are octal). */
function isCloexec(fd: number): boolean {
  const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0';
  return (parseInt(flags, 8) & 0o2000000) !== 0;
}

test('the open flags match the ones the addon was built with', () => {
  assert.deepEqual({ ...loadNativeAddon().fsat?.O }, { ...O });
});

test('every call works on a real directory, relative to the directory fd', (t) => {
  const d = scratch(t);
  const dfd = openDirNoFollow(d);
  t.after(() => closeFd(dfd));
  assert.equal(fdPath(dfd), d);
  assert.ok(isCloexec(dfd), 'directory fds are close-on-exec');
  assert.equal(fstatFd(dfd).kind, 'dir');

  // a new file, exclusive and not through a symlink, written and checked through its fd
  const fd = openat(dfd, 'a.txt', O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
  assert.ok(isCloexec(fd));
  writeSync(fd, 'hello\n');
  fchmodFd(fd, 0o640);
  fchownFd(fd, 0, 0);
  const st = fstatFd(fd);
  closeFd(fd);
  assert.equal(st.kind, 'file');
  assert.equal(st.mode & 0o7777, 0o640);
  assert.equal(st.size, 6);
  assert.equal(st.nlink, 1);
  const ls = lstatSync(join(d, 'a.txt'));
  assert.equal(st.ino, ls.ino);
  assert.equal(st.dev, ls.dev);
  assert.ok(Math.abs(st.mtimeMs - ls.mtimeMs) < 1);
  assert.equal(thrown(() => openat(dfd, 'a.txt', O.WRONLY | O.CREAT | O.EXCL, 0o600)).code, 'EEXIST');

  const rfd = openat(dfd, 'a.txt', O.RDONLY | O.NOFOLLOW);
  const buf = Buffer.alloc(16);
  assert.equal(buf.subarray(0, readSync(rfd, buf)).toString(), 'hello\n');
  closeFd(rfd);

  // fstatat: lstat semantics, null when absent
  assert.equal(fstatat(dfd, 'a.txt')?.ino, ls.ino);
  assert.equal(fstatat(dfd, 'missing'), null);

  mkdirat(dfd, 'sub', 0o750);
  assert.equal(fstatat(dfd, 'sub')?.kind, 'dir');
  assert.equal(thrown(() => mkdirat(dfd, 'sub', 0o750)).code, 'EEXIST');

  symlinkat('a.txt', dfd, 'ln');
  assert.equal(fstatat(dfd, 'ln')?.kind, 'symlink');
  assert.equal(readlinkat(dfd, 'ln'), 'a.txt');
  assert.equal(thrown(() => openat(dfd, 'ln', O.RDONLY | O.NOFOLLOW)).code, 'ELOOP');

  // rename within one fd and across two
  renameat(dfd, 'a.txt', dfd, 'b.txt');
  withFd(openDirNoFollow(join(d, 'sub')), (sfd) => renameat(dfd, 'b.txt', sfd, 'c.txt'));
  assert.equal(readFileSync(join(d, 'sub', 'c.txt'), 'utf8'), 'hello\n');

  assert.deepEqual(readdirFd(dfd).sort(), ['ln', 'sub']);
  assert.deepEqual(readdirFd(dfd).sort(), ['ln', 'sub'], 'reading twice reads from the top again');

  unlinkat(dfd, 'ln');
  assert.equal(thrown(() => unlinkat(dfd, 'sub', { dir: true })).code, 'ENOTEMPTY');
  withFd(openDirNoFollow(join(d, 'sub')), (sfd) => unlinkat(sfd, 'c.txt'));
  unlinkat(dfd, 'sub', { dir: true });
  assert.deepEqual(readdirFd(dfd), []);
});

test('errors carry a code and name the path, like node\'s', (t) => {
  const d = scratch(t);
  const dfd = openDirNoFollow(d);
  t.after(() => closeFd(dfd));
  const e = thrown(() => openat(dfd, 'nope', O.RDONLY)) as Error & { code: string; syscall: string; path: string };
  assert.equal(e.code, 'ENOENT');
  assert.equal(e.syscall, 'openat');
  assert.equal(e.path, join(d, 'nope'));
  assert.match(e.message, new RegExp(`^ENOENT: no such file or directory, openat '${join(d, 'nope')}'$`));
  writeFileSync(join(d, 'f'), 'x');
  assert.equal(thrown(() => openDirNoFollow(join(d, 'f'))).code, 'ENOTDIR');
  assert.equal(thrown(() => openDirNoFollow(join(d, 'f', 'below'))).code, 'ENOTDIR');
  assert.equal(thrown(() => openDirNoFollow(join(d, 'missing'))).code, 'ENOENT');
});

test('names must be one path component: "/", "..", "." and "" are refused with EINVAL', (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'inner'));
  const dfd = openDirNoFollow(join(d, 'inner'));
  t.after(() => closeFd(dfd));
  writeFileSync(join(d, 'outside'), 'secret');
  for (const bad of ['..', '.', '', '../outside', 'a/b', '/etc/passwd', 'x\0y']) {
    for (const call of [
      () => openat(dfd, bad, O.RDONLY),
      () => mkdirat(dfd, bad, 0o755),
      () => unlinkat(dfd, bad),
      () => renameat(dfd, bad, dfd, 'ok'),
      () => renameat(dfd, 'ok', dfd, bad),
      () => fstatat(dfd, bad),
      () => symlinkat('t', dfd, bad),
      () => readlinkat(dfd, bad),
    ]) {
      const e = thrown(call);
      assert.equal(e.code, 'EINVAL', `${JSON.stringify(bad)}: ${e.message}`);
    }
  }
  assert.equal(readFileSync(join(d, 'outside'), 'utf8'), 'secret');
  assert.equal(thrown(() => openDirNoFollow('relative/path')).code, 'EINVAL');
  assert.equal(thrown(() => openDirNoFollow(`${d}/inner/../inner`)).code, 'EINVAL');
});

test('openDirNoFollow refuses a symlink component unless asked to follow it', (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'real', 'deeper'), { recursive: true });
  symlinkSync(join(d, 'real'), join(d, 'abs'));
  symlinkSync('real', join(d, 'rel'));
  mkdirSync(join(d, 'other'));
  symlinkSync('../real/deeper', join(d, 'other', 'up'));

  const e = thrown(() => openDirNoFollow(join(d, 'abs', 'deeper')));
  assert.equal(e.code, 'ELOOP');
  assert.match(e.message, new RegExp(`refusing to follow symlink ${join(d, 'abs')} \\(owned by uid 0\\)`));
  assert.equal(thrown(() => openDirNoFollow(join(d, 'abs'))).code, 'ELOOP', 'the last component too');

  const asked: Array<[string, number, number]> = [];
  const follow = (p: string, uid: number, holder: AtStat): boolean => {
    asked.push([p, uid, holder.ino]);
    return true;
  };
  const ino = (p: string): number => lstatSync(p).ino;
  const real = lstatSync(join(d, 'real', 'deeper')).ino;
  for (const p of [join(d, 'abs', 'deeper'), join(d, 'rel', 'deeper'), join(d, 'other', 'up')]) {
    withFd(openDirNoFollow(p, { followSymlink: follow }), (fd) => assert.equal(fstatFd(fd).ino, real, p));
  }
  // each link named with its owner and the directory it stands in
  assert.deepEqual(asked, [
    [join(d, 'abs'), 0, ino(d)],
    [join(d, 'rel'), 0, ino(d)],
    [join(d, 'other', 'up'), 0, ino(join(d, 'other'))],
  ]);
  // a loop ends with ELOOP, not a hang
  symlinkSync('loop', join(d, 'loop'));
  assert.equal(thrown(() => openDirNoFollow(join(d, 'loop'), { followSymlink: () => true })).code, 'ELOOP');
});

test('openDirNoFollow creates what is missing with the mode and owner asked, whatever the umask', (t) => {
  const d = scratch(t);
  const old = process.umask(0o077);
  t.after(() => process.umask(old));
  withFd(openDirNoFollow(join(d, 'x', 'y'), { create: { mode: 0o755, uid: 1, gid: 2 } }), (fd) => {
    assert.equal(fstatFd(fd).mode & 0o7777, 0o755);
  });
  for (const p of [join(d, 'x'), join(d, 'x', 'y')]) {
    const st = statSync(p);
    assert.equal(st.mode & 0o7777, 0o755, p);
    assert.equal(st.uid, 1);
    assert.equal(st.gid, 2);
  }
});

test('removeTreeAt removes a tree without following the symlinks in it', (t) => {
  const d = scratch(t);
  mkdirSync(join(d, 'keep'));
  writeFileSync(join(d, 'keep', 'precious'), 'x');
  mkdirSync(join(d, 'tree', 'a', 'b'), { recursive: true });
  writeFileSync(join(d, 'tree', 'a', 'b', 'f'), 'x');
  symlinkSync(join(d, 'keep'), join(d, 'tree', 'a', 'link'));
  const n = withFd(openDirNoFollow(d), (fd) => removeTreeAt(fd, 'tree'));
  assert.equal(n, 4);
  assert.equal(existsSync(join(d, 'tree')), false);
  assert.equal(readFileSync(join(d, 'keep', 'precious'), 'utf8'), 'x');
});

const why = userSupport();

test('a symlink an unprivileged user plants in their home is refused, naming it and its owner', { skip: why ?? false }, (t) => {
  const u = createTestUser('fsat');
  t.after(() => removeTestUser(u));
  const d = scratch(t);
  chmodSync(d, 0o755);
  mkdirSync(join(d, 'rootonly'), { mode: 0o700 });
  // the user replaces their .config with a link to a directory they may not write
  const r = runAs(u, '/bin/sh', ['-c', `mkdir -p .config && rm -rf .config && ln -s ${join(d, 'rootonly')} .config`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lstatSync(join(u.home, '.config')).uid, u.uid);

  const e = thrown(() => openDirNoFollow(join(u.home, '.config')));
  assert.equal(e.code, 'ELOOP');
  assert.match(e.message, new RegExp(`refusing to follow symlink ${join(u.home, '.config')} \\(owned by uid ${u.uid}\\)`));
  // the rule the agent uses: follow root's links (e.g. /var/run -> /run), nobody else's
  const rootOnly = (_p: string, uid: number): boolean => uid === 0;
  assert.equal(thrown(() => openDirNoFollow(join(u.home, '.config'), { followSymlink: rootOnly })).code, 'ELOOP');
  assert.equal(thrown(() => openDirNoFollow(join(u.home, '.config'), { followSymlink: rootOnly, create: { mode: 0o755 } })).code, 'ELOOP');
  symlinkSync(join(d, 'rootonly'), join(d, 'rootlink'));
  withFd(openDirNoFollow(join(d, 'rootlink'), { followSymlink: rootOnly }), (fd) => assert.equal(fstatFd(fd).ino, statSync(join(d, 'rootonly')).ino));
  // and an openat of the leaf through the home's fd gets ELOOP, not the target
  withFd(openDirNoFollow(u.home), (hfd) => {
    assert.equal(thrown(() => openDirAt(hfd, '.config')).code, 'ELOOP');
    assert.equal(thrown(() => openat(hfd, '.config', O.RDONLY | O.NOFOLLOW)).code, 'ELOOP');
  });
  withFd(openDirNoFollow(join(d, 'rootonly')), (fd) => assert.deepEqual(readdirFd(fd), [], 'nothing was made through the link'));
});
