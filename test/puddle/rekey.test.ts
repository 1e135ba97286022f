// rekey-pair end to end with registered hooks: the hook gets the retired key as a signer
// and the new public key; the running session switches to the new key; the name claim is
// re-signed; a failing hook leaves a resumable rekey; a preflight refusal changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, verify } from 'node:crypto';
import { puddleHooks, sessionSigner, type RekeyContext } from '../../src/puddle/index.js';
import { readNameClaim, readPublicKey } from '../../src/puddle/identity.js';
import { rekeyPair } from '../../src/puddle/rekey.js';
import { VigoError } from '../../src/platform/errors.js';
import { PASS, alive, cleanupHome, helperPid, ok, tempHome, vigo, waitFor, withPass } from './harness.js';

const h = tempHome();
const dir = join(h, '.vigo-puddle');
after(() => cleanupHome(h));

function verifies(pubHex: string, msg: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(pubHex, 'hex')]), format: 'der', type: 'spki' });
  return verify(null, msg, key, sig);
}
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let mode: 'ok' | 'fail' | 'refuse' = 'ok';
const calls: { ctx: RekeyContext; oldSig: Uint8Array }[] = [];
const hooks = puddleHooks();
hooks.rekey.register({
  name: 'test-projects',
  async preflight(ctx) {
    if (mode === 'refuse' && !ctx.forceOrphanProjects) {
      throw new VigoError('E_TEST_AT_CAP', 'project demo is at the delegation cap', { hint: 'pass --force-orphan-projects to tombstone it' });
    }
  },
  async run(ctx) {
    const oldSig = await ctx.oldSigner.sign(new TextEncoder().encode('delegation'));
    calls.push({ ctx, oldSig });
    if (mode === 'fail') throw new VigoError('E_TEST_HOOK', 'disk full while writing delegations.json', { hint: 'free some space' });
    return [`  delegated demo → ${hex(ctx.newPublicKey).slice(0, 8)}`];
  },
});

const opts = (force = false) => ({ passphrase: () => Promise.resolve(PASS), forceOrphanProjects: force, home: h, hooks: hooks.rekey, env: process.env });

test('rekey-pair: hooks, session refresh, name claim, retired key kept', async () => {
  ok(vigo(h, ['init'], withPass()));
  ok(vigo(h, ['unlock', '--watch-pid', '0', '--idle-timeout', '7m'], withPass()));
  ok(vigo(h, ['name', 'set', 'rekey-test']));
  const oldHex = hex(readPublicKey(dir));
  const oldHelper = helperPid(h);
  assert.ok(oldHelper !== null);

  const r = await rekeyPair(dir, opts(true));
  const newHex = hex(readPublicKey(dir));
  assert.notEqual(newHex, oldHex);
  assert.equal(hex(r.oldPublicKey), oldHex);
  assert.equal(hex(r.newPublicKey), newHex);
  assert.equal(r.resumed, false);
  assert.deepEqual(r.lines, [`  delegated demo → ${newHex.slice(0, 8)}`]);
  const call = calls.at(-1);
  assert.ok(call);
  assert.ok(verifies(oldHex, new TextEncoder().encode('delegation'), call.oldSig), 'the hook signs with the retired key');
  assert.equal(hex(call.ctx.newPublicKey), newHex);
  assert.equal(hex(call.ctx.newSigner.publicKey), newHex);
  assert.equal(call.ctx.forceOrphanProjects, true);
  assert.equal(call.ctx.home, h);
  const mode = (p: string) => statSync(join(dir, p)).mode & 0o777;
  assert.equal(mode('retired'), 0o700);
  assert.equal(mode(`retired/${oldHex}.wrapped`), 0o600);
  assert.equal(mode(`retired/${oldHex}.salt`), 0o600);
  assert.equal(mode('identity.wrapped'), 0o600);
  assert.equal(mode('identity.salt'), 0o600);
  assert.equal(mode('identity.pub'), 0o644);
  assert.equal(mode('name-claim.json'), 0o644);
  assert.equal(existsSync(join(dir, 'rekey.pending.json')), false);

  // the session now holds the new key, with the same idle timeout
  assert.equal(r.sessionRefreshed, true);
  await waitFor(() => !alive(oldHelper), 5000, 'the old helper to exit');
  const signer = await sessionSigner(dir);
  assert.equal(hex(signer.publicKey), newHex);
  const msg = new TextEncoder().encode('after rekey');
  assert.ok(verifies(readFileSync(join(dir, 'identity.pub'), 'utf8').trim(), msg, await signer.sign(msg)));
  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { session: { idle_timeout_s: number }; name: string };
  assert.equal(st.session.idle_timeout_s, 420);
  assert.equal(st.name, 'rekey-test');
  assert.equal(readNameClaim(dir)?.pubkey, newHex, 'the name claim is re-signed by the new key');
});

test('a failing hook leaves the new key in place and a rekey that resumes', async () => {
  const before = hex(readPublicKey(dir));
  mode = 'fail';
  await assert.rejects(rekeyPair(dir, opts()), (e: VigoError) => {
    assert.equal(e.code, 'E_PUDDLE_REKEY_HOOK');
    assert.match(e.message, /the new key is in place, but the test-projects rekey hook failed: disk full/);
    assert.match(e.hint ?? '', /free some space; then run `vigo swarm puddle rekey-pair` again/);
    return true;
  });
  const mid = hex(readPublicKey(dir));
  assert.notEqual(mid, before);
  assert.ok(existsSync(join(dir, 'rekey.pending.json')));
  const failed = calls.at(-1);
  mode = 'ok';
  const r = await rekeyPair(dir, opts());
  assert.equal(r.resumed, true);
  assert.equal(hex(readPublicKey(dir)), mid, 'no second new key');
  assert.equal(hex(calls.at(-1)?.ctx.oldSigner.publicKey ?? new Uint8Array()), hex(failed?.ctx.oldSigner.publicKey ?? new Uint8Array(1)));
  assert.equal(existsSync(join(dir, 'rekey.pending.json')), false);
});

test('a hook preflight refusal (the delegation cap) changes nothing; the flag lets it through', async () => {
  const snap = () =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => !f.startsWith('session.') && statSync(join(dir, f)).isFile())
      .sort()
      .map((f) => [f, readFileSync(join(dir, f)).toString('hex')]);
  const before = hex(readPublicKey(dir));
  const files = snap();
  mode = 'refuse';
  const n = calls.length;
  await assert.rejects(rekeyPair(dir, opts(false)), (e: VigoError) => e.code === 'E_TEST_AT_CAP' && /--force-orphan-projects/.test(e.hint ?? ''));
  assert.equal(hex(readPublicKey(dir)), before);
  assert.deepEqual(snap(), files);
  assert.equal(calls.length, n, 'run was not called');
  const r = await rekeyPair(dir, opts(true));
  assert.notEqual(hex(r.newPublicKey), before);
  mode = 'ok';
});

test('a tampered name claim does not block a rekey: it is dropped with a warning', async () => {
  const claimPath = join(dir, 'name-claim.json');
  writeFileSync(claimPath, JSON.stringify({ v: 1, kind: 'name-claim', name: 'forged', pubkey: hex(readPublicKey(dir)), issued_at: 1, sig: '00'.repeat(64) }));
  const notes: string[] = [];
  await rekeyPair(dir, { ...opts(), progress: (l) => notes.push(l) });
  assert.equal(existsSync(claimPath), false);
  assert.ok(notes.some((l) => /dropping the unusable name claim/.test(l)), notes.join('\n'));
});
