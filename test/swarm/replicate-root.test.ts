// Root's `replicate` (docs/spanner.md "How a file:// push reaches the other bolts"): a
// file:// push into the stacks project never passes a receive, so root asks the helper
// daemon to hand it to replication, and the manifest is signed by the service-account
// puddle through the real helper on puddle.sock (SIGN). The real GitbackService and
// SwarmNodes of push-world; a real other Unix user for the attacks. Each refusal leaves
// the peer where it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userSupport } from '../helpers/users.js';
import { programDist } from '../helpers/program.js';
import { run } from '../gitback/proc.js';
import { okr, pushWorld } from './push-world.js';
import { ensureMasterKey, masterKeyWrap, secretsPaths } from '../../src/server/index-admin.js';
import { OPS_PUDDLE_WRAP_DOMAIN, SERVICE_PUDDLE_WRAP_DOMAIN, ensureOpsHelper, opsInit, opsSigner } from '../../src/spanner/index-ops.js';
import { stacksInit } from '../../src/spanner/index-stacks.js';
import { replicateFilePush, daemonRequest, encodeLine } from '../../src/gitback/index.js';
import { manifestSigningMessage, type UnsignedManifest } from '../../src/wire/gitback-manifest.js';
import { generateKeyPair, pubkeyHex, seedSigner, toHex } from '../../src/trust/index.js';
import { paths } from '../../src/platform/paths.js';

const why = userSupport();

/** an answer line, either kind */
type Answer = { ok: boolean; code?: string; status?: unknown };

test('root replicate: a file:// push reaches a member peer, signed by the service-account puddle; the attacks on it are refused', { skip: why ?? false, timeout: 300_000 }, async (t) => {
  const w = await pushWorld('rpr', ['x']);
  const root = w.envoy.root;
  const srv = join(root, 'srv', 'vigo');
  mkdirSync(srv, { recursive: true, mode: 0o755 });
  const sp = secretsPaths(join(srv, 'secrets'), srv);
  ensureMasterKey(sp);
  const wraps = { service: masterKeyWrap(sp, SERVICE_PUDDLE_WRAP_DOMAIN), ops: masterKeyWrap(sp, OPS_PUDDLE_WRAP_DOMAIN) };
  const hp = { socket: join(paths.varRun(w.env), 'puddle.sock'), puddleDir: join(srv, 'puddle'), opsDir: join(srv, 'ops-puddle'), secretsDir: sp.dir, dataDir: srv };
  const ops = opsInit(hp.opsDir, hp.puddleDir, wraps, 'rpr-ops');
  const helper = await ensureOpsHelper(hp, w.env);
  t.after(() => {
    try {
      if (helper !== null) process.kill(helper, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  const source = join(w.dir, 'stacks');
  mkdirSync(join(source, 'configcrates'), { recursive: true });
  writeFileSync(join(source, 'envoys.vgo'), 'envoys: []\n');
  const init = await stacksInit({ opsDir: hp.opsDir, socket: hp.socket, gitbackBase: paths.gitbackBase(w.env), env: w.env, now: Math.floor(Date.now() / 1000), source });
  const pid = init.project_id;
  const bare = init.bare_repo;
  const gitSock = paths.gitbackSocket(w.env);
  const signer = () => opsSigner(hp.socket);
  const replicate = () => replicateFilePush(gitSock, pid, signer, { timeoutMs: 30_000 });

  // a member peer of the members-only project, known to A as holding it
  const peer = await w.peer('b');
  peer.node.join(pid, 'members-only');
  w.hearHolder(peer, pid, 'members-only');
  const peerRepo = join(peer.projectsDir, `${pid}.git`);
  const tip = async (repo: string) => (await run('git', ['--git-dir', repo, 'rev-parse', '-q', '--verify', 'refs/heads/main'])).stdout.trim();
  const push = async (file: string, text: string): Promise<string> => {
    const work = join(w.dir, `work-${file}`);
    okr(await run('git', ['clone', '-q', '-b', 'main', `file://${bare}`, work]), 'clone');
    writeFileSync(join(work, file), text);
    const id = ['-c', 'user.name=t', '-c', 'user.email=t@t'];
    okr(await run('git', ['-C', work, 'add', '-A']), 'add');
    okr(await run('git', [...id, '-C', work, 'commit', '-qm', file]), 'commit');
    okr(await run('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:refs/heads/main']), 'push');
    return tip(bare);
  };

  await t.test('another Unix user asking to replicate is refused by the kernel uid; nothing moves', async () => {
    const client = join(w.dir, 'replicate-client.mjs');
    writeFileSync(
      client,
      `import { daemonRequest } from ${JSON.stringify(join(programDist, 'src/gitback/remote-helper.js'))};\n` +
        `const { sock, resp } = await daemonRequest(process.argv[2], { v: 1, op: 'replicate', project_id: process.argv[3] }, { timeoutMs: 10000 });\n` +
        `sock.destroy();\nconsole.log(JSON.stringify(resp));\n`,
      { mode: 0o644 },
    );
    chmodSync(w.dir, 0o755);
    const r = okr(await w.sh[0]!.run(process.execPath, [client, gitSock, pid]), 'replicate as x');
    const resp = JSON.parse(r.stdout) as Answer;
    assert.deepEqual([resp.ok, resp.code], [false, 'E_ROOT_ONLY'], r.stdout);
    assert.equal(await tip(peerRepo), '', 'the peer holds nothing');
  });

  await t.test('a manifest signed by another key than the service-account puddle is refused; nothing moves', async () => {
    const { sock, resp: answer, rest } = await daemonRequest(gitSock, { v: 1, op: 'replicate', project_id: pid }, { timeoutMs: 30_000 });
    try {
      const resp = answer as Answer;
      const m = (resp.status as { manifest?: UnsignedManifest } | undefined)?.manifest;
      assert.ok(resp.ok && m !== undefined, JSON.stringify(resp));
      assert.equal(m.pusher, ops.self, 'the pusher is this host\'s service-account puddle');
      const forged = { ...m, sig: toHex(await seedSigner(generateKeyPair().seed).sign(manifestSigningMessage(m))) };
      let text = rest.toString('utf8');
      sock.on('data', (c: Buffer) => (text += c.toString('utf8')));
      sock.resume();
      sock.write(encodeLine({ v: 1, op: 'push-signed', manifest: forged, replicas: null }));
      await new Promise((r) => (sock.once('end', r), sock.once('close', r)));
      const last = JSON.parse(text.trim().split('\n').at(-1) ?? '{}') as Answer;
      assert.deepEqual([last.ok, last.code], [false, 'E_MANIFEST_SIGNATURE'], text);
    } finally {
      sock.destroy();
    }
    assert.equal(await tip(peerRepo), '', 'the peer holds nothing');
  });

  await t.test('a chain whose leaf is not this host\'s service-account key (identity.pub swapped) is refused', async () => {
    const file = join(hp.puddleDir, 'identity.pub');
    const real = readFileSync(file, 'utf8');
    writeFileSync(file, pubkeyHex(generateKeyPair().publicKey) + '\n');
    try {
      const r = await replicate();
      assert.equal(r.ok, false, r.lines.join('\n'));
      assert.match(r.lines.join('\n'), /not replicated: .*E_/);
    } finally {
      writeFileSync(file, real);
    }
    assert.equal(await tip(peerRepo), '', 'the peer holds nothing');
  });

  await t.test('the honest replicate: the imported head reaches the peer; asking again moves nothing', async () => {
    const h0 = await tip(bare);
    const r = await replicate();
    assert.deepEqual([r.ok, r.lines], [true, ['gitback: replicated to 1 of 1 peer']]);
    assert.equal(await tip(peerRepo), h0);
    const again = await replicate();
    assert.deepEqual([again.ok, again.lines], [true, []], 'nothing moved: nothing to say');
  });

  await t.test('a later file:// push (a publish) replicates as a fast-forward of the recorded tip', async () => {
    const h1 = await push('motd', 'one\n');
    const r = await replicate();
    assert.deepEqual([r.ok, r.lines], [true, ['gitback: replicated to 1 of 1 peer']]);
    assert.equal(await tip(peerRepo), h1);
    assert.ok(w.log.some((l) => /moved outside a receive; handing them to replication/.test(l)), w.log.join('\n'));
  });
});
