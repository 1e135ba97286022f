// A second real Unix user cannot use the first user's session helper: the socket's modes
// keep it out, and even with the modes opened up the helper refuses it, because it asks
// the kernel (SO_PEERCRED) who is calling. Root is refused the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestUser, removeTestUser, runAs, userSupport, type TestUser } from '../helpers/users.js';
import { request } from '../../src/puddle/session/client.js';
import { PASS, VIGO, alive, helperPid, puddleEnvoyRoot, waitFor } from './harness.js';
import { programDist } from '../helpers/program.js';

const why = userSupport();

function vigoAs(u: TestUser, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = runAs(u, process.execPath, [VIGO, 'swarm', 'puddle', ...args], { extraEnv: { VIGO_ROOT: puddleEnvoyRoot(), ...env } });
  assert.equal(r.status, 0, `vigo ${args.join(' ')} as ${u.name}: ${r.stderr}`);
  return r;
}

test('another user cannot sign with (or even reach) this user\'s session helper', { skip: why ?? false }, async (t) => {
  const a = createTestUser('pa');
  t.after(() => removeTestUser(a));
  const b = createTestUser('pb');
  t.after(() => removeTestUser(b));
  const scratch = mkdtempSync(join(tmpdir(), 'vgt-peercred-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  chmodSync(scratch, 0o755);

  vigoAs(a, ['init'], { VIGO_PUDDLE_PASSPHRASE: PASS });
  vigoAs(a, ['unlock', '--watch-pid', '0', '--idle-timeout', '5m'], { VIGO_PUDDLE_PASSPHRASE: PASS });
  const pid = helperPid(a.home);
  assert.ok(pid !== null && alive(pid));
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already locked */
    }
  });
  const dir = join(a.home, '.vigo-puddle');
  const sock = join(dir, 'session.sock');
  assert.equal(statSync(sock).uid, a.uid);
  if (!readFileSync(join(dir, 'session.log'), 'utf8').includes('stays dumpable')) {
    // non-dumpable: the kernel hands /proc/<pid>/mem to root, so even A's other processes cannot read the key
    assert.equal(statSync(`/proc/${pid}/mem`).uid, 0);
  } else {
    t.diagnostic('the built addon predates setNotDumpable; rebuild it to check the non-dumpable helper');
  }

  // the client B runs: one SIGN request, prints the answer (or the error code)
  const client = join(scratch, 'client.mjs');
  writeFileSync(
    client,
    `import { request } from ${JSON.stringify(join(programDist, 'src/puddle/session/client.js'))};\n` +
      `request(process.argv[2], { op: 'SIGN', msg: Buffer.from('forged by another user').toString('base64') })\n` +
      `  .then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify({ error: e.code ?? e.message })));\n`,
    { mode: 0o644 },
  );
  const asB = () => JSON.parse(runAs(b, process.execPath, [client, sock]).stdout.trim()) as { ok?: boolean; code?: string; error?: string };

  // 1. with the modes as the puddle sets them, B cannot even connect
  assert.deepEqual(asB(), { error: 'E_PUDDLE_SOCKET_DENIED' });

  // 2. open the path to B (as a careless chmod would); the helper still refuses B by its uid
  const homeMode = statSync(a.home).mode & 0o777;
  chmodSync(a.home, 0o711);
  chmodSync(dir, 0o711);
  chmodSync(sock, 0o666);
  try {
    const answer = asB();
    assert.equal(answer.ok, false);
    assert.equal(answer.code, 'E_PEER_REFUSED');
  } finally {
    chmodSync(sock, 0o600);
    chmodSync(dir, 0o700);
    chmodSync(a.home, homeMode);
  }
  // 3. root is another uid too
  const rootAnswer = await request(sock, { op: 'SIGN', msg: Buffer.from('from root').toString('base64') });
  assert.equal(rootAnswer.ok, false);
  assert.equal((rootAnswer as { code: string }).code, 'E_PEER_REFUSED');

  const log = readFileSync(join(dir, 'session.log'), 'utf8');
  assert.match(log, new RegExp(`refused connection from uid ${b.uid} pid \\d+: only uid ${a.uid} may use this session`));
  assert.match(log, new RegExp(`refused connection from uid 0 pid ${process.pid}`));
  assert.doesNotMatch(log, /signed \d+ bytes/, 'nothing was signed for anyone');

  // 4. the owner is served
  const mine = runAs(a, process.execPath, [client, sock]);
  const ans = JSON.parse(mine.stdout.trim()) as { ok: boolean; sig?: string };
  assert.equal(ans.ok, true);
  assert.match(ans.sig ?? '', /^[0-9a-f]{128}$/);

  vigoAs(a, ['lock']);
  await waitFor(() => !alive(pid), 5000, 'the helper to exit');
});
