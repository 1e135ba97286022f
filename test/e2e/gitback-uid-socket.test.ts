// Per-uid sockets (issue 8 item 3, the connect flood): the daemon gives each uid that
// connects a socket of its own, so one user's flood fills only the accept queue of a
// socket that user can open. What an operator checks: the layout (a root-owned 0711
// directory, each socket its user's, 0600), that nobody else can use a user's socket
// (the file mode for users, the SO_PEERCRED check for root), and that a user's git and
// vigo really go through it: with the shared socket moved away, B's git still works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { userSupport } from '../helpers/users.js';
import { initProject, raw } from '../gitback/hostile.js';
import { grantGitback, ok, setupPuddle, twoUserEnvoy } from '../gitback/users-env.js';
import { uidSocketDir, uidSocketPath } from '../../src/gitback/index.js';

const why = userSupport();

/** Connects to `path` as root (this test process) and returns the first line the daemon sends. */
function rootConnect(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    let buf = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no answer on ${path} within 20 s`))), 20_000);
    s.on('data', (d: Buffer) => (buf += d.toString('utf8')));
    s.on('end', () => s.end());
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
    s.on('close', () => (clearTimeout(timer), resolve(buf.split('\n')[0] ?? '')));
  });
}

test('per-uid sockets: B gets a 0600 socket of its own in a root 0711 directory; A cannot open it, root is refused on it, and B’s git and vigo use it (the shared socket moved away)', { skip: why ?? false, timeout: 300_000 }, async () => {
  const { envoy, ua, ub, A, B } = await twoUserEnvoy('guidsock', 5);
  const shared = join(envoy.root, 'var/run/vigo/gitback.sock');
  grantGitback(envoy, ua);
  grantGitback(envoy, ub);
  setupPuddle(A);
  setupPuddle(B);
  const attackPid = initProject(A, ua, 'theirs');
  const victimPid = initProject(B, ub, 'mine');
  const url = `gitback://${victimPid}/mine`;
  ok(B.git(['ls-remote', url]), 'B ls-remote (first, through the shared socket)');

  // the layout an operator sees under the run directory
  const dir = uidSocketDir(shared);
  const d = statSync(dir);
  assert.ok(d.isDirectory() && d.uid === 0 && (d.mode & 0o777) === 0o711, `${dir}: uid ${d.uid} mode ${(d.mode & 0o777).toString(8)}`);
  const own = uidSocketPath(shared, ub.uid);
  const s = statSync(own);
  assert.ok(s.isSocket() && s.uid === ub.uid && (s.mode & 0o777) === 0o600, `${own}: uid ${s.uid} mode ${(s.mode & 0o777).toString(8)}`);

  // A cannot even connect to B's socket (the file mode), so cannot fill its queue
  const fromA = await raw(ua, own, [{ line: { v: 1, op: 'status' } }], 5_000);
  assert.equal(fromA[0]?.connectedAt, -1, `A connected to B's socket: ${JSON.stringify(fromA)}`);
  // root can open it, but the kernel's uid is the identity: the daemon refuses it there at once
  assert.match(await rootConnect(own), /"ok":false,"code":"E_WRONG_SOCKET"/);

  // with the shared socket out of the way, only B's own socket can carry B's requests
  renameSync(shared, `${shared}.aside`);
  try {
    // the native tunnel (a hex URL)
    const ls = ok(B.git(['ls-remote', url]), 'B ls-remote through its own socket');
    assert.match(ls.stdout, /refs\/heads\/main/);
    // the TypeScript helper: a refusal the tunnel hands over to vigo, which asks again
    // and prints the daemon's reason (not "the daemon is not running")
    const refused = B.git(['ls-remote', `gitback://${attackPid}/theirs`]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /hold no state for project theirs/, refused.stderr);
    assert.doesNotMatch(refused.stderr, /not running/);
    // A has one too: its first push went through the shared socket
    assert.ok(existsSync(uidSocketPath(shared, ua.uid)));
  } finally {
    renameSync(`${shared}.aside`, shared);
  }
});
