// The envoy's uid → puddle key binding, end to end with real users, real puddles, the real
// agent and git: a user who writes another user's public key into identity.pub and that
// user's chain (or an invitation for that key) into its own state is refused; binding
// happens through unlock, the verbs and the remote helper; forged binds are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, toHex } from '../../src/trust/index.js';
import { userSupport } from '../helpers/users.js';
import { programDist } from '../helpers/program.js';
import { grantGitback, ok, twoUserEnvoy, userExtraEnv, workTreeWithCommit } from '../gitback/users-env.js';
import { run } from '../gitback/proc.js';

const why = userSupport();

// Talks the bind protocol by hand as the calling user (forged and replayed proofs).
const FORGER = `
import { createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
const [sock, dist, mode, arg] = process.argv.slice(2);
const trust = await import(dist + '/src/trust/index.js');
const binding = await import(dist + '/src/gitback/binding.js');
const puddle = await import(dist + '/src/puddle/index.js');
function open() {
  const s = createConnection(sock);
  let buf = '';
  const waiters = [];
  s.setEncoding('utf8');
  s.on('data', (c) => { buf += c; let i; while ((i = buf.indexOf('\\n')) >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); waiters.shift()?.(l); } });
  s.on('close', () => { while (waiters.length) waiters.shift()('{"ok":false,"code":"CLOSED"}'); });
  return { send: (o) => s.write(JSON.stringify(o) + '\\n'), next: () => new Promise((r) => waiters.push(r)), close: () => s.destroy() };
}
const now = Math.floor(Date.now() / 1000);
const own = await puddle.sessionSigner(puddle.puddleDir(process.env));
async function signed(signer, body) { return { ...body, sig: trust.toHex(await signer.sign(binding.bindingMessage(body))) }; }
const c = open();
c.send({ v: 1, op: 'bind' });
const ch = JSON.parse(await c.next()).status;
const body = { v: 1, kind: 'uid-binding', uid: ch.uid, pubkey: trust.toHex(own.publicKey), challenge: ch.challenge, issued_at: now };
let proof;
if (mode === 'other-signer') {
  // claims the user's own key, signed by another
  proof = await signed(trust.seedSigner(trust.generateKeyPair().seed), body);
  proof = { ...proof, pubkey: body.pubkey };
} else if (mode === 'other-key') {
  // a perfectly valid proof, but for a key identity.pub does not name
  const k = trust.seedSigner(trust.generateKeyPair().seed);
  proof = await signed(k, { ...body, pubkey: trust.toHex(k.publicKey) });
} else if (mode === 'replay') {
  // another uid's recorded proof
  proof = JSON.parse(readFileSync(arg, 'utf8')).proof;
} else if (mode === 'stale') {
  // a proof for a challenge issued to another connection
  const c2 = open();
  c2.send({ v: 1, op: 'bind' });
  const ch2 = JSON.parse(await c2.next()).status;
  c2.close();
  proof = await signed(own, { ...body, challenge: ch2.challenge });
} else if (mode === 'wrong-kind') {
  // the same body signed under another domain tag
  const sig = trust.toHex(await own.sign(trust.signingMessage('name-claim', body)));
  proof = { ...body, sig };
} else {
  proof = await signed(own, body);
}
c.send({ v: 1, op: 'bind-proof', proof });
process.stdout.write(await c.next() + '\\n');
c.close();
`;

test('uid binding: unbound hint, bind on unlock/join/helper, the copied-key attack refused, forged binds refused', { skip: why ?? false, timeout: 110_000 }, async () => {
  const { dir, envoy, agent, ua, ub, A, B } = await twoUserEnvoy('bd', 0.5);
  grantGitback(envoy, ua);
  grantGitback(envoy, ub);
  const bindings = join(envoy.root, 'var/lib/vigo/swarm/gitback/bindings');
  const bindingOf = (uid: number) => JSON.parse(readFileSync(join(bindings, `${uid}.json`), 'utf8')) as { uid: number; user: string; pubkey: string; proof: { sig: string } };

  // unlock binds A (the daemon is up): root-owned record naming A's key
  ok(A.vigo(['swarm', 'puddle', 'init']), 'A puddle init');
  const unlA = ok(A.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', '0']), 'A unlock');
  assert.match(unlA.stdout, new RegExp(`Gitback: bound to uid ${ua.uid} on this envoy`), unlA.stdout + agent.log());
  const pkA = ok(A.vigo(['swarm', 'puddle', 'pubkey']), 'A pubkey').stdout.trim().replace(/^ed25519:/, '');
  const recA = bindingOf(ua.uid);
  assert.equal(recA.pubkey, pkA);
  assert.equal(recA.user, ua.name);
  const st = statSync(join(bindings, `${ua.uid}.json`));
  assert.equal(st.uid, 0);
  assert.equal(st.mode & 0o777, 0o644);

  // B has an initialized but LOCKED puddle
  ok(B.vigo(['swarm', 'puddle', 'init']), 'B puddle init');
  const pkB = ok(B.vigo(['swarm', 'puddle', 'pubkey']), 'B pubkey').stdout.trim().replace(/^ed25519:/, '');

  const work = workTreeWithCommit(A, ua, 'demo', 'first');
  const init = ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work }), 'init');
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(init.stdout)?.[1] as string;
  const url = `gitback://${pid}/demo`;
  const inv = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', pkB, '--role', 'member']), 'invite B').stdout;

  // join with a locked puddle works and says what the first git operation will need
  const joined = ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv }), 'join');
  assert.match(joined.stderr, /note: your puddle is locked; the first git operation on this envoy needs it unlocked once/);
  assert.equal(existsSync(join(bindings, `${ub.uid}.json`)), false);
  const clone = join(ub.home, 'demo');
  const unbound = B.git(['clone', '-q', url, clone]);
  assert.notEqual(unbound.status, 0);
  assert.match(unbound.stderr, /fatal: gitback: .*E_UNBOUND|this envoy has not bound a puddle key to you/);
  assert.match(unbound.stderr, /hint: run `vigo swarm puddle unlock` \(then retry\) so this envoy can bind your puddle to your uid/);

  // unlocking binds; then the clone works
  const unl = ok(B.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', '0']), 'B unlock');
  assert.match(unl.stdout, new RegExp(`Gitback: bound to uid ${ub.uid} on this envoy`));
  assert.equal(bindingOf(ub.uid).pubkey, pkB);
  ok(B.git(['clone', '-q', url, clone]), 'clone after unlock');

  // the remote helper binds on its own when the session is unlocked (binding removed by root)
  rmSync(join(bindings, `${ub.uid}.json`));
  ok(B.git(['ls-remote', url]), 'ls-remote re-binds');
  assert.equal(bindingOf(ub.uid).pubkey, pkB);

  // THE ATTACK: B writes A's public key into its identity.pub and A's chain into its tokens.json
  const idB = join(ub.home, '.vigo-puddle', 'identity.pub');
  const tokB = join(ub.home, '.vigo-gitback', pid, 'tokens.json');
  const idBText = readFileSync(idB);
  const tokBText = readFileSync(tokB);
  const idMode = statSync(idB).mode & 0o777;
  const plant = (file: string, text: string | Buffer, mode = 0o600) => {
    rmSync(file);
    writeFileSync(file, text, { mode });
    chownSync(file, ub.uid, ub.gid);
  };
  plant(idB, readFileSync(join(ua.home, '.vigo-puddle', 'identity.pub')), idMode);
  cpSync(join(ua.home, '.vigo-gitback', pid, 'tokens.json'), tokB);
  chownSync(tokB, ub.uid, ub.gid);
  const stolen = B.git(['ls-remote', url]);
  assert.notEqual(stolen.status, 0, 'B must not pass with A\'s key in identity.pub and A\'s chain');
  assert.match(stolen.stderr, /E_BINDING_MISMATCH|is not the key this envoy bound to uid/);
  assert.match(stolen.stderr, /hint: run `vigo swarm puddle unlock`/);
  const stolenPush = B.git(['push', 'origin', 'HEAD:refs/heads/stolen'], { cwd: clone });
  assert.notEqual(stolenPush.status, 0);
  assert.match(stolenPush.stderr, /is not the key this envoy bound/);
  // …nor can B get A's project tombstoned on this envoy by marking its copy of A's founder
  // chain tombstoned (the reactor records envoy tombstones only for the uid bound to the leaf)
  const projB = join(ub.home, '.vigo-gitback', pid, 'project.json');
  const projBText = readFileSync(projB, 'utf8');
  assert.match(projBText, /"tombstoned_at": null/);
  plant(projB, projBText.replace(/"tombstoned_at": null/, `"tombstoned_at": ${Math.floor(Date.now() / 1000)}`));
  await new Promise((r) => setTimeout(r, 2000)); // four sweeps
  assert.equal(existsSync(join(envoy.root, 'var/lib/vigo/swarm/gitback/tombstones', `${pid}.json`)), false);
  plant(projB, projBText);
  // …and with no binding at all it is E_UNBOUND (the helper's bind attempt cannot prove A's key)
  rmSync(join(bindings, `${ub.uid}.json`));
  const stolenUnbound = B.git(['ls-remote', url]);
  assert.notEqual(stolenUnbound.status, 0);
  assert.match(stolenUnbound.stderr, /this envoy has not bound a puddle key to you/);
  assert.equal(existsSync(join(bindings, `${ub.uid}.json`)), false);
  // A, bound, keeps working throughout
  assert.match(ok(A.git(['ls-remote', url]), 'A ls-remote').stdout, /refs\/heads\/main/);

  // the same attack through an invitation: A invites some key K; B puts K in identity.pub and
  // rejoins with that invitation (the CLI accepts it: identity.pub names K), git is refused
  plant(idB, idBText, idMode);
  plant(tokB, tokBText);
  ok(B.git(['ls-remote', url]), 'B restored (helper binds again)');
  const k = toHex(generateKeyPair().publicKey);
  const invK = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', k, '--role', 'admin']), 'invite K').stdout;
  plant(idB, k + '\n', idMode);
  ok(B.vigo(['swarm', 'gitback', 'project', 'rejoin', 'demo', '--invitation', '-'], { input: invK }), 'rejoin as K');
  const viaInv = B.git(['ls-remote', url]);
  assert.notEqual(viaInv.status, 0);
  assert.match(viaInv.stderr, /is not the key this envoy bound/);
  assert.equal(bindingOf(ub.uid).pubkey, pkB, 'the binding did not move to K');
  plant(idB, idBText, idMode);
  plant(tokB, tokBText);
  ok(B.git(['ls-remote', url]), 'B works again with its own key and chain');

  // forged and replayed binds, spoken by hand as B: all refused, B's binding unchanged
  const forger = join(dir, 'forger.mjs');
  writeFileSync(forger, FORGER, { mode: 0o644 });
  const sock = join(envoy.root, 'var/run/vigo/gitback.sock');
  const forge = async (mode: string, arg = '') =>
    (
      await run(process.execPath, [forger, sock, programDist, mode, arg], {
        uid: ub.uid,
        gid: ub.gid,
        cwd: ub.home,
        env: { PATH: process.env.PATH, HOME: ub.home, USER: ub.name, ...userExtraEnv(envoy, ub) },
        timeoutMs: 20_000,
      })
    ).stdout;
  assert.match(await forge('honest'), /"ok":true/, 'the hand-made honest proof is accepted (the forger speaks the protocol)');
  for (const [mode, arg, why] of [
    ['other-signer', '', /signature does not verify/],
    ['other-key', '', /your identity\.pub names/],
    ['replay', join(bindings, `${ua.uid}.json`), /the proof is for uid \d+, but you are uid/],
    ['stale', '', /answers another challenge/],
    ['wrong-kind', '', /signature does not verify/],
  ] as const) {
    const out = await forge(mode, arg);
    assert.match(out, /"ok":false,"code":"E_BIND_REFUSED"/, `${mode}: ${out}`);
    assert.match(out, why, `${mode}: ${out}`);
  }
  assert.equal(bindingOf(ub.uid).pubkey, pkB);
  assert.equal(bindingOf(ua.uid).pubkey, pkA);
  assert.match(agent.log(), new RegExp(`uid ${ub.uid} \\(${ub.name}\\) bound to ${pkB}`));
});
