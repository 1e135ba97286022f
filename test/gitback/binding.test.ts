// uid-binding proofs (pure) and, against a real agent, the daemon's delegation record:
// a deposed founder presenting its old bootstrap token with no delegations is refused
// once the envoy has verified the rekey.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { canonicalize, generateKeyPair, seedSigner, signingMessage, toHex } from '../../src/trust/index.js';
import { bindingMessage, verifyBindingProof, type BindingBody } from '../../src/gitback/binding.js';
import { ensureBound } from '../../src/gitback/bind-client.js';
import { projectInit } from '../../src/gitback/project/found.js';
import { runRekeyHook } from '../../src/gitback/rekey-hook.js';
import { repoRoot, startAgent, testContext } from './harness.js';
import { pathWithProgram } from '../helpers/program.js';
import { run } from './proc.js';

const body = (over: Partial<BindingBody> = {}): BindingBody => ({
  v: 1,
  kind: 'uid-binding',
  uid: 1001,
  pubkey: '',
  challenge: 'c'.repeat(64),
  issued_at: 1_764_000_000,
  ...over,
});

test('the uid-binding signing message is domain-separated and the proof is tied to uid, challenge and clock', async () => {
  const s = seedSigner(generateKeyPair().seed);
  const b = body({ pubkey: toHex(s.publicKey) });
  const msg = Buffer.from(bindingMessage(b));
  assert.ok(msg.subarray(0, 20).equals(Buffer.from('vigo/uid-binding/v1\u0000')));
  assert.equal(msg.subarray(20).toString(), '{"challenge":"' + 'c'.repeat(64) + '","issued_at":1764000000,"kind":"uid-binding","pubkey":"' + b.pubkey + '","uid":1001,"v":1}');
  assert.notDeepEqual(Buffer.from(signingMessage('name-claim', b)), msg);
  const proof = { ...b, sig: toHex(await s.sign(bindingMessage(b))) };
  const expect = { uid: 1001, challenge: 'c'.repeat(64), now: 1_764_000_100 };
  assert.equal(verifyBindingProof(proof, expect).pubkey, b.pubkey);
  // the same body signed under another kind never verifies as a binding
  const other = { ...b, sig: toHex(await s.sign(signingMessage('token', b))) };
  assert.throws(() => verifyBindingProof(other, expect), /signature does not verify/);
  assert.throws(() => verifyBindingProof(proof, { ...expect, uid: 1002 }), /the proof is for uid 1001, but you are uid 1002/);
  assert.throws(() => verifyBindingProof(proof, { ...expect, challenge: 'd'.repeat(64) }), /another challenge/);
  assert.throws(() => verifyBindingProof(proof, { ...expect, now: 1_764_000_000 + 301 }), /more than 300 s/);
  assert.throws(() => verifyBindingProof({ ...proof, extra: 1 }, expect), /unknown field 'extra'/);
  assert.throws(() => verifyBindingProof({ ...proof, pubkey: toHex(generateKeyPair().publicKey) }, expect), /signature does not verify/);
});

test('wire-formats.md §13 shows the uid-binding example byte for byte', async () => {
  const sha = (t: string) => createHash('sha256').update(t).digest();
  const alice = seedSigner(new Uint8Array(sha('vigo-vectors/alice')));
  const b = body({ pubkey: toHex(alice.publicKey), challenge: sha('challenge/example').toString('hex') });
  const msg = bindingMessage(b);
  const sig = toHex(await alice.sign(msg));
  const wire = readFileSync(join(repoRoot, 'docs', 'wire-formats.md'), 'utf8');
  assert.ok(wire.includes(`\n${canonicalize(b)}\n`), 'canonical bytes');
  assert.ok(wire.replace(/\n/g, '').includes(Buffer.from(msg).toString('hex')), 'signing message');
  assert.ok(wire.includes(sig), 'signature');
});

test('the envoy remembers verified delegations: a deposed founder with an empty delegations.json is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgt-bindd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const vroot = join(dir, 'root');
  const home = join(dir, 'home');
  mkdirSync(vroot);
  mkdirSync(home);
  const uid = process.getuid?.() ?? 0;
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `tester:x:${uid}:${uid}:tester:${home}:/bin/sh\n`);
  const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', PATH: pathWithProgram() };
  const agent = await startAgent(vroot, { sweep_interval_s: 60, passwd_file: passwd }, { ...process.env, ...gitEnv });
  after(() => agent.stop());
  // founded 100 s ago, rekeyed 50 s ago: the old key's window closed before "now"
  let clock = Math.floor(Date.now() / 1000) - 100;
  const a = testContext(home, vroot, { uid, user: 'tester', now: () => clock });
  Object.assign(a.env, gitEnv);
  a.passwdFile = passwd;
  const git = (args: string[], cwd = work) => run('git', args, { cwd, env: a.env, timeoutMs: 60_000 });
  const work = join(home, 'dep');
  mkdirSync(work);
  a.cwd = work;
  await git(['init', '-q', '-b', 'main', work]);
  writeFileSync(join(work, 'README'), 'x\n');
  await git(['add', '.']);
  await git(['commit', '-qm', 'first']);
  const k0 = await a.signer();
  await projectInit(a, 'dep', {});
  const pid = /gitback:\/\/([0-9a-f]{64})\/dep/.exec(a.text())?.[1] as string;
  assert.match(a.text(), /Bound your puddle .* to uid/);
  const state = join(home, '.vigo-gitback', pid);
  const bootstrapOnly = readFileSync(join(state, 'tokens.json'));

  clock += 50;
  const k1 = seedSigner(generateKeyPair().seed);
  await runRekeyHook({ oldSigner: k0, newPublicKey: k1.publicKey, now: clock, forceOrphanProjects: false, home });
  a.setSigner(k1);
  await ensureBound(a, k1);
  const ls = await git(['ls-remote', 'swarm']);
  assert.equal(ls.status, 0, ls.stderr);
  const record = join(vroot, 'var/lib/vigo/swarm/gitback/delegations', `${pid}.json`);
  assert.equal((JSON.parse(readFileSync(record, 'utf8')) as { delegations: unknown[] }).delegations.length, 1);
  assert.equal(statSync(record).mode & 0o777, 0o600);
  assert.match(agent.log(), /recorded 1 founder delegation\(s\) \(was 0\)/);

  // the deposed founder: holds the old key (proves it, so the uid is bound to it), its old
  // bootstrap chain, and no delegations
  a.setSigner(k0);
  await ensureBound(a, k0);
  writeFileSync(join(state, 'tokens.json'), bootstrapOnly);
  rmSync(join(state, 'delegations.json'));
  const deposed = await git(['ls-remote', 'swarm']);
  assert.notEqual(deposed.status, 0);
  assert.match(deposed.stderr, /E_DELEGATION_WINDOW/);
  assert.match(deposed.stderr, /retired/);
  // control: without the envoy's record the same presentation would have passed
  rmSync(record);
  const withoutRecord = await git(['ls-remote', 'swarm']);
  assert.equal(withoutRecord.status, 0, withoutRecord.stderr);
  assert.equal(existsSync(record), false, 'an empty list never creates a record');
});
