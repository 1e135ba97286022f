// The service-account helper on puddle.sock, as a real process: 0600 root, serves root
// only (SO_PEERCRED: a real other Unix user is refused even with the socket opened up to
// it), FOUND_OPS_PROJECT mints a chain [ops-puddle bootstrap, member → service-account]
// that verifies for the stacks project id, and its log carries no key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestUser, removeTestUser, runAs, userSupport } from '../helpers/users.js';
import { programDist } from '../helpers/program.js';
import { ensureMasterKey, masterKeyWrap, secretsPaths } from '../../src/server/index-admin.js';
import { OPS_PUDDLE_WRAP_DOMAIN, SERVICE_PUDDLE_WRAP_DOMAIN, ensureOpsHelper, foundOpsProject, openOpsSeed, opsHelperStatus, opsInit } from '../../src/spanner/index-ops.js';
import { stacksProjectId } from '../../src/spanner/index-stacks.js';
import { lineRequest } from '../../src/puddle/index.js';
import { projectId, pubkeyHex, verifyChain, type TokenChain } from '../../src/trust/index.js';
import { isVigoError } from '../../src/platform/errors.js';

const why = userSupport();

test('puddle.sock: root only by SO_PEERCRED; FOUND_OPS_PROJECT mints a verifying member chain', { skip: why ?? false }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ops-helper-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755);
  const p = secretsPaths(join(root, 'secrets'), root);
  ensureMasterKey(p);
  const wraps = { service: masterKeyWrap(p, SERVICE_PUDDLE_WRAP_DOMAIN), ops: masterKeyWrap(p, OPS_PUDDLE_WRAP_DOMAIN) };
  const hp = { socket: join(root, 'run', 'puddle.sock'), puddleDir: join(root, 'puddle'), opsDir: join(root, 'ops-puddle'), secretsDir: p.dir, dataDir: root };
  const init = opsInit(hp.opsDir, hp.puddleDir, wraps, 'ops-test');
  mkdirSync(join(root, 'run'), { mode: 0o755 });
  const pid = await ensureOpsHelper(hp, process.env);
  assert.ok(pid !== null);
  t.after(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  assert.equal(await ensureOpsHelper(hp, process.env), null, 'a running helper is not started twice');
  const st = statSync(hp.socket);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, 0);

  const s = await opsHelperStatus(hp.socket);
  assert.equal(s?.pubkey, init.self);
  assert.equal(s?.ops_pubkey, init.pubkey);

  const f = await foundOpsProject(hp.socket);
  const pidHex = stacksProjectId(init.pubkey);
  assert.equal(f.project_id, pidHex);
  assert.equal(pidHex, projectId(Buffer.from(init.pubkey, 'hex'), 'stacks'));
  const v = verifyChain({ projectId: pidHex, chain: f.chain as TokenChain, delegations: [], revoked: new Map(), now: Math.floor(Date.now() / 1000), presenter: init.self });
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.ok && v.role, 'member');
  assert.equal(v.ok && v.founder, init.pubkey);

  // anything else than FOUND_OPS_PROJECT stacks members-only is refused
  const other = await lineRequest<{ ok: boolean; code: string }>(hp.socket, { op: 'FOUND_OPS_PROJECT', handle: 'payroll', scope: 'swarm-wide' }, 5000, 'helper', '');
  assert.equal(other.ok, false);
  assert.equal(other.code, 'E_BAD_REQUEST');

  // another Unix user: the modes keep it out; with them opened up, SO_PEERCRED does
  const b = createTestUser('ob');
  t.after(() => removeTestUser(b));
  const client = join(root, 'client.mjs');
  writeFileSync(
    client,
    `import { lineRequest } from ${JSON.stringify(join(programDist, 'src/puddle/session/client.js'))};\n` +
      `lineRequest(process.argv[2], JSON.parse(process.argv[3]), 5000, 'helper', 'root only')\n` +
      `  .then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify({ error: e.code ?? e.message })));\n`,
    { mode: 0o644 },
  );
  const asB = (req: object) => JSON.parse(runAs(b, process.execPath, [client, hp.socket, JSON.stringify(req)]).stdout.trim()) as { ok?: boolean; code?: string; error?: string };
  const sign = { op: 'SIGN', msg: Buffer.from('forged by another user').toString('base64') };
  assert.deepEqual(asB(sign), { error: 'E_PUDDLE_SOCKET_DENIED' });
  chmodSync(hp.socket, 0o666);
  try {
    const a1 = asB(sign);
    assert.equal(a1.ok, false);
    assert.equal(a1.code, 'E_PEER_REFUSED');
    const a2 = asB({ op: 'FOUND_OPS_PROJECT', handle: 'stacks', scope: 'members-only' });
    assert.equal(a2.code, 'E_PEER_REFUSED');
  } finally {
    chmodSync(hp.socket, 0o600);
  }
  const log = readFileSync(join(hp.puddleDir, 'helper.log'), 'utf8');
  assert.match(log, new RegExp(`refused connection from uid ${b.uid} pid \\d+: only uid 0 may use this service-account helper`));
  assert.doesNotMatch(log, new RegExp(`signed \\d+ bytes for uid ${b.uid}`));
  const seed = openOpsSeed(hp.opsDir, wraps.ops).seed;
  assert.ok(!log.includes(seed.toString('hex')) && !log.includes(seed.toString('base64')), 'no key material in the log');
  assert.equal(pubkeyHex(Buffer.from(init.pubkey, 'hex')), init.pubkey);

  // a helper that cannot open identity.wrapped (another master key) does not start
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  writeFileSync(p.keyFile, Buffer.alloc(32, 7));
  await assert.rejects(ensureOpsHelper(hp, process.env), (e) => isVigoError(e) && e.code === 'E_OPS_NO_HELPER');
});
