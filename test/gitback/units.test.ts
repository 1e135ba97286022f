// Pure pieces: gitback:// URL parsing and name resolution, the daemon's request parser,
// project-argument resolution, envelope reaping and the sweep's refusal of bad sentinels.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, mintBootstrapToken, mintChildToken, mintLeave, projectId, seedSigner, toHex } from '../../src/trust/index.js';
import { computeProjectId, parseGitbackUrl, resolveProjectId } from '../../src/gitback/url.js';
import { parseBindProofLine, parseRequest } from '../../src/gitback/daemon/protocol.js';
import { resolveProject, saveProject, saveConfig, type ProjectConfig } from '../../src/gitback/state.js';
import { reapEnvelopes, storeLeave } from '../../src/gitback/envelopes.js';
import { sweepOnce } from '../../src/gitback/reactor.js';
import { diskStores } from '../../src/gitback/stores/disk.js';
import { ManualClock } from '../../src/platform/clock.js';
import { retiredTokens } from '../../src/gitback/project/common.js';
import { testContext } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-units-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const PID = 'ab'.repeat(32);

test('gitback:// URLs: hex and friendly forms; bad ones are refused with the reason', async () => {
  assert.deepEqual(parseGitbackUrl(`gitback://${PID.toUpperCase()}/demo.git`), { host: PID, handle: 'demo', projectId: PID });
  assert.equal(parseGitbackUrl('gitback://dan/vigo-web').projectId, null);
  for (const bad of ['https://x/y', 'gitback://x', `gitback://${PID}/.hidden`, `gitback://${PID}/a/b`, 'gitback://a b/c']) {
    assert.throws(() => parseGitbackUrl(bad), /gitback URL|handle|neither/);
  }
  const kp = generateKeyPair();
  const pkHex = toHex(kp.publicKey);
  assert.equal(computeProjectId(kp.publicKey, 'vigo-web'), projectId(kp.publicKey, 'vigo-web'));
  const u = parseGitbackUrl('gitback://dan/vigo-web');
  // the fleet map wins; a miss falls back to the caller's own claim; ambiguity never resolves
  assert.equal(await resolveProjectId(u, { fleetMap: () => Promise.resolve({ names: { dan: { status: 'ok', pubkey: pkHex } }, writtenAt: '2026-12-02T07:00:00Z' }), ownClaim: () => Promise.resolve(null) }), projectId(kp.publicKey, 'vigo-web'));
  assert.equal(await resolveProjectId(u, { fleetMap: () => Promise.resolve(null), ownClaim: () => Promise.resolve({ name: 'dan', pubkey: pkHex }) }), projectId(kp.publicKey, 'vigo-web'));
  const contested = { names: { dan: { status: 'contested' as const, pubkeys: ['aa'.repeat(32), 'bb'.repeat(32)] } }, writtenAt: '2026-12-02T07:00:00Z' };
  await assert.rejects(resolveProjectId(u, { fleetMap: () => Promise.resolve(contested), ownClaim: () => Promise.resolve(null) }), /'dan' is contested \(claimed by ed25519:aaaaaaaaaaaa…, ed25519:bbbbbbbbbbbb…\)/);
  // a contested name fails even for a claimant whose own claim names it
  await assert.rejects(resolveProjectId(u, { fleetMap: () => Promise.resolve(contested), ownClaim: () => Promise.resolve({ name: 'dan', pubkey: pkHex }) }), /is contested/);
  await assert.rejects(resolveProjectId(u, { fleetMap: () => Promise.resolve({ names: {}, writtenAt: '2026-12-02T07:00:00Z' }), ownClaim: () => Promise.resolve(null) }), /the fleet name map \(written 2026-12-02T07:00:00Z\) does not know it/);
  await assert.rejects(resolveProjectId(u, { fleetMap: () => Promise.resolve(null), ownClaim: () => Promise.resolve({ name: 'eve', pubkey: pkHex }) }), /cannot resolve the puddle name 'dan': this envoy has no fleet name map yet/);
});

test('the daemon request parser accepts exactly its five requests (and the bind proof line)', () => {
  assert.equal(parseRequest(JSON.stringify({ v: 1, op: 'status' })).op, 'status');
  assert.deepEqual(parseRequest(JSON.stringify({ v: 1, op: 'retired', project_id: PID })), { v: 1, op: 'retired', project_id: PID });
  assert.deepEqual(parseRequest(JSON.stringify({ v: 1, op: 'replicate', project_id: PID })), { v: 1, op: 'replicate', project_id: PID });
  assert.equal(parseRequest(JSON.stringify({ v: 1, op: 'bind' })).op, 'bind');
  assert.deepEqual(parseBindProofLine(JSON.stringify({ v: 1, op: 'bind-proof', proof: { a: 1 } })).proof, { a: 1 });
  for (const bad of ['[]', JSON.stringify({ v: 1, op: 'bind-proof', proof: {}, uid: 0 }), JSON.stringify({ v: 1, op: 'bind', proof: {} })]) {
    assert.throws(() => (bad.includes('"bind-proof"') || bad === '[]' ? parseBindProofLine(bad) : parseRequest(bad)), /bad request/);
  }
  const c = parseRequest(JSON.stringify({ v: 1, op: 'connect', service: 'git-receive-pack', project_id: PID, handle: 'demo', git_protocol: 'version=2' }));
  assert.equal(c.op === 'connect' && c.git_protocol, 'version=2');
  for (const bad of [
    'not json',
    JSON.stringify({ v: 2, op: 'status' }),
    JSON.stringify({ v: 1, op: 'connect', service: 'git-upload-archive', project_id: PID, handle: 'd' }),
    JSON.stringify({ v: 1, op: 'connect', service: 'git-upload-pack', project_id: 'ABC', handle: 'd' }),
    JSON.stringify({ v: 1, op: 'connect', service: 'git-upload-pack', project_id: PID, handle: 'd', uid: 0 }),
    JSON.stringify({ v: 1, op: 'connect', service: 'git-upload-pack', project_id: PID, handle: 'd', git_protocol: 'a b;rm' }),
    JSON.stringify({ v: 1, op: 'migrate', from: PID, to: PID }),
    JSON.stringify({ v: 1, op: 'retired', project_id: PID, uid: 0 }),
    JSON.stringify({ v: 1, op: 'retired', project_id: PID.toUpperCase() }),
    JSON.stringify({ v: 1, op: 'retired' }),
    // replicate names a project and nothing else: no uid, no pusher, no refs to take on trust
    JSON.stringify({ v: 1, op: 'replicate', project_id: PID, pusher: 'a'.repeat(64) }),
    JSON.stringify({ v: 1, op: 'replicate', project_id: PID, refs: [] }),
    JSON.stringify({ v: 1, op: 'replicate', project_id: 'stacks' }),
    JSON.stringify({ v: 1, op: 'replicate' }),
  ]) {
    assert.throws(() => parseRequest(bad), /bad request/);
  }
});

test('a <project_id> argument: full id, handle, unique handle prefix, hex prefix; live beats tombstoned', async () => {
  const base = join(dir, 'state');
  const mk = async (handle: string): Promise<ProjectConfig> => {
    const s = seedSigner(generateKeyPair().seed);
    const root = await mintBootstrapToken(s, handle, 1000);
    const config: ProjectConfig = {
      version: 1, project_id: root.project_id, handle, founder: root.issuer, scope: 'swarm-wide', members: [root.issuer],
      role: 'admin', created_at: 1000, cross_subnet_members: [], tombstoned_at: null, successor: null,
    };
    saveProject(base, { config, chain: [root], delegations: [] });
    return config;
  };
  const web = await mk('vigo-web');
  const notes = await mk('team-notes');
  assert.equal(resolveProject(base, web.project_id).config.handle, 'vigo-web');
  assert.equal(resolveProject(base, 'team').config.project_id, notes.project_id);
  assert.equal(resolveProject(base, notes.project_id.slice(0, 8)).config.handle, 'team-notes');
  const web2 = await mk('vigo-web');
  assert.throws(() => resolveProject(base, 'vigo'), /matches 2 projects/);
  saveConfig(base, { ...web, tombstoned_at: 2000, successor: web2.project_id });
  assert.equal(resolveProject(base, 'vigo').config.project_id, web2.project_id);
  assert.throws(() => resolveProject(base, 'nothing'), /no local project matches/);
  writeFileSync(join(base, notes.project_id, 'project.json'), '{"version": 1, "version": 1}');
  assert.throws(() => resolveProject(base, 'team'), /project\.json/);
});

test('reaping removes envelopes stored longer than the retention; a forged sentinel is rejected, not stored', async () => {
  const vroot = join(dir, 'root');
  const store = join(vroot, 'var/lib/vigo/swarm/gitback/envelopes');
  const s = seedSigner(generateKeyPair().seed);
  const founder = seedSigner(generateKeyPair().seed);
  const root = await mintBootstrapToken(founder, 'demo', 900);
  const leave = await mintLeave(s, [root, await mintChildToken(founder, [root], s.publicKey, 'member', 900, null)], [], 1000);
  const f = storeLeave(store, leave);
  assert.deepEqual(reapEnvelopes(store, Date.now(), 90 * 86400), []);
  utimesSync(f, new Date(Date.now() - 91 * 86400_000), new Date(Date.now() - 91 * 86400_000));
  assert.deepEqual(reapEnvelopes(store, Date.now(), 90 * 86400), [f]);

  const home = join(dir, 'home-sweep');
  const pdir = join(home, '.vigo-gitback', leave.project_id);
  mkdirSync(pdir, { recursive: true });
  writeFileSync(join(pdir, 'leave.pending'), JSON.stringify({ ...leave, issued_at: 1001 }));
  const uid = process.getuid?.() ?? 0;
  writeFileSync(join(dir, 'passwd'), `u:x:${uid}:${uid}::${home}:/bin/sh\n`);
  const logs: string[] = [];
  const log = (m: string) => void logs.push(m);
  const r = sweepOnce({ stores: diskStores({ VIGO_ROOT: vroot }, join(dir, 'passwd'), log), clock: new ManualClock(2000_000), log });
  assert.equal(r.rejected, 1);
  assert.ok(existsSync(join(pdir, 'leave.pending.rejected')));
  assert.equal(existsSync(join(store, leave.project_id, 'leaves')) && r.leaves > 0, false);
  assert.match(logs.join('\n'), /rejected .*leave\.pending/);
});

test('a non-root founder whose helper daemon is down learns no retired tokens and is warned once, naming the check to run', async () => {
  const ctx = testContext(join(dir, 'home-nodaemon'), join(dir, 'envoy-nodaemon'), { uid: 4242, user: 'someone' });
  assert.equal(await retiredTokens(ctx, PID), null);
  const err = ctx.stderr.join('');
  assert.equal(err.split('\n').filter((l) => l !== '').length, 1, err);
  assert.match(err, /^warning: could not learn other admins' revokes and members' leaves for project abababababab… \(the helper daemon is not answering: .*\), so members revoked or departed in the store may be re-invited: check with `vigo swarm gitback project status`/);
});
