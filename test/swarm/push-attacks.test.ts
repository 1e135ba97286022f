// The daemon's manifest exchange under attack: a push's manifest goes once, to the uid
// that pushed, and only that manifest, signed by the key that presented the push, is
// replicated. Each refusal leaves the peer as it was; the honest exchange afterwards
// carries every unreplicated change along.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userSupport } from '../helpers/users.js';
import { pathWithProgram, programDist } from '../helpers/program.js';
import { run } from '../gitback/proc.js';
import { commit, okr, puddleUp, pushWorld, workTree, type AsyncSh } from './push-world.js';

const why = userSupport();

/** Scripts other users run: they import the installed program, so they live in a world-readable directory. */
const scripts = ((): { bin: string; client: string } => {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-push-attack-'));
  chmodSync(dir, 0o755);
  const d = programDist;
  // git-remote-gitback that does the push, then writes its push id to a file instead of the manifest exchange
  const helper = join(dir, 'git-remote-gitback');
  writeFileSync(
    helper,
    `#!${process.execPath}
import { writeFileSync } from 'node:fs';
import { runRemoteHelper } from '${d}/src/gitback/index-remote.js';
import { nameSources } from '${d}/src/gitback/names.js';
import { paths } from '${d}/src/platform/paths.js';
const env = process.env;
const code = await runRemoteHelper(process.argv.slice(2), {
  stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env, socketPath: paths.gitbackSocket(env),
  names: nameSources(env, async () => null), bind: async () => null,
  afterPush: async (id) => (writeFileSync(env.VIGO_TEST_PUSH_ID_FILE, id), 0),
});
process.stdout.write('', () => process.exit(code));
`,
    { mode: 0o755 },
  );
  // one manifest exchange for a push id: honest, or signing another change, or signed by another key
  const client = join(dir, 'push-client.mjs');
  writeFileSync(
    client,
    `import { daemonRequest } from '${d}/src/gitback/remote-helper.js';
import { encodeLine } from '${d}/src/gitback/daemon/protocol.js';
import { manifestSigningMessage, signManifest } from '${d}/src/wire/gitback-manifest.js';
import { puddleSigner } from '${d}/src/gitback/identity.js';
import { generateKeyPair, seedSigner, toHex } from '${d}/src/trust/index.js';
const [sockPath, id, mode] = process.argv.slice(2);
const { sock, resp, rest } = await daemonRequest(sockPath, { v: 1, op: 'push-manifest', push_id: id }, { timeoutMs: 60000 });
const out = { first: resp, then: [] };
const m = resp.ok ? resp.status?.manifest : undefined;
if (m !== undefined) {
  let signed;
  if (mode === 'honest') signed = await signManifest(m, await puddleSigner(process.env));
  else if (mode === 'other-change') signed = await signManifest({ ...m, refs: m.refs.map((r) => ({ ...r, new: 'f'.repeat(40) })) }, await puddleSigner(process.env));
  else signed = { ...m, sig: toHex(await seedSigner(generateKeyPair().seed).sign(manifestSigningMessage(m))) };
  let text = rest.toString('utf8');
  sock.on('data', (c) => (text += c.toString('utf8')));
  sock.resume();
  sock.write(encodeLine({ v: 1, op: 'push-signed', manifest: signed, replicas: null }));
  await new Promise((r) => (sock.once('end', r), sock.once('close', r)));
  out.then = text.split('\\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}
sock.destroy();
process.stdout.write(JSON.stringify(out) + '\\n');
`,
    { mode: 0o644 },
  );
  return { bin: dir, client };
})();

interface Exchange {
  first: { ok: boolean; code?: string; status?: { manifest?: unknown } };
  then: Array<{ ok: boolean; code?: string; message?: string; status?: { acked?: number; of?: number; final?: boolean } }>;
}

async function exchange(sh: AsyncSh, sock: string, id: string, mode: 'honest' | 'other-change' | 'other-signer'): Promise<Exchange> {
  const r = okr(await sh.run(process.execPath, [scripts.client, sock, id, mode]), `push-client ${mode}`);
  return JSON.parse(r.stdout) as Exchange;
}

test('the manifest exchange refuses another uid, another change, another signer and a replay; the peer moves only on the honest one', { skip: why ?? false, timeout: 300_000 }, async (t) => {
  t.after(() => rmSync(scripts.bin, { recursive: true, force: true }));
  const w = await pushWorld('spa', ['a', 'b']);
  const [alice] = w.users;
  const [A, B] = w.sh as [AsyncSh, AsyncSh];
  const peer = await w.peer('b');
  w.hear(peer);
  await puddleUp(A);
  const work = await workTree(A, alice!, 'demo');
  const init = okr(await A.vigo(['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work }), 'project init');
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(init.stdout)?.[1] ?? '';
  const peerRepo = join(peer.projectsDir, `${pid}.git`);
  const tip = async () => (await run('git', ['--git-dir', peerRepo, 'rev-parse', '-q', '--verify', 'refs/heads/main'])).stdout.trim();
  const first = okr(await A.git(['rev-parse', 'HEAD'], { cwd: work }), 'rev-parse').stdout.trim();
  assert.equal(await tip(), first, 'the founding push replicated');
  const sock = join(w.envoy.root, 'var/run/vigo/gitback.sock');
  const idFile = join(alice!.home, 'push-id');
  /** a push through the leaky helper: it lands on A, and its push id is all we keep */
  const leakyPush = async (n: number): Promise<string> => {
    await commit(A, work, `f${n}`, `${n}\n`, `commit ${n}`);
    okr(await A.git(['push', '-q', 'swarm', 'main'], { cwd: work, env: { PATH: `${scripts.bin}:${pathWithProgram()}`, VIGO_TEST_PUSH_ID_FILE: idFile } }), `leaky push ${n}`);
    return readFileSync(idFile, 'utf8');
  };

  await t.test('another uid asking for alice\'s push id gets nothing', async () => {
    const id = await leakyPush(1);
    const e = await exchange(B, sock, id, 'honest');
    assert.deepEqual([e.first.ok, e.first.code], [false, 'E_PUSH_UNKNOWN'], JSON.stringify(e));
    assert.equal(e.first.status?.manifest, undefined, 'no manifest is disclosed to bob');
    // alice's own exchange for it is still open, and signing another change is refused
    const mine = await exchange(A, sock, id, 'other-change');
    assert.ok(mine.first.ok && mine.first.status?.manifest !== undefined, JSON.stringify(mine));
    const last = mine.then.at(-1);
    assert.deepEqual([last?.ok, last?.code], [false, 'E_MANIFEST_MISMATCH'], JSON.stringify(mine));
    assert.equal(await tip(), first, 'the peer did not move');
  });

  await t.test('the manifest handed out, signed by a key that is not the chain\'s leaf, is refused', async () => {
    const id = await leakyPush(2);
    const e = await exchange(A, sock, id, 'other-signer');
    const last = e.then.at(-1);
    assert.deepEqual([last?.ok, last?.code], [false, 'E_MANIFEST_SIGNATURE'], JSON.stringify(e));
    assert.equal(await tip(), first, 'the peer did not move');
  });

  await t.test('the honest exchange replicates (carrying the unreplicated pushes along); replaying its id gets nothing', async () => {
    const id = await leakyPush(3);
    const e = await exchange(A, sock, id, 'honest');
    const last = e.then.at(-1);
    assert.deepEqual([last?.ok, last?.status?.final, last?.status?.acked, last?.status?.of], [true, true, 1, 1], JSON.stringify(e));
    const head = okr(await A.git(['rev-parse', 'HEAD'], { cwd: work }), 'rev-parse').stdout.trim();
    assert.equal(await tip(), head, 'the peer holds the head of all three pushes');
    const again = await exchange(A, sock, id, 'honest');
    assert.deepEqual([again.first.ok, again.first.code], [false, 'E_PUSH_UNKNOWN'], JSON.stringify(again));
  });
});
