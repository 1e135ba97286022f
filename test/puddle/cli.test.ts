// Operator-facing edges of the verbs: passphrase sources, name claims, refusals with hints.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNameClaim } from '../../src/puddle/identity.js';
import { initIdentity } from '../../src/puddle/store.js';
import { DEFAULT_KDF, MIN_KDF } from '../../src/puddle/wrap.js';
import { PASS, cleanupHome, ok, tempHome, vigo, withPass } from './harness.js';

const homes: string[] = [];
after(() => {
  for (const h of homes) cleanupHome(h);
});
const home = () => {
  const h = tempHome();
  homes.push(h);
  return h;
};

test('init refuses a short passphrase and an empty one, and leaves nothing behind', () => {
  const h = home();
  const short = vigo(h, ['init'], withPass('short'));
  assert.equal(short.status, 1);
  assert.match(short.stderr, /error: the new passphrase from VIGO_PUDDLE_PASSPHRASE is shorter than 8 characters/);
  const none = vigo(h, ['init'], { input: '' });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /standard input is not a terminal and had no line for it\nhint: set VIGO_PUDDLE_PASSPHRASE/);
  assert.equal(JSON.parse(ok(vigo(h, ['status', '--json'])).stdout).initialized, false);
});

test('rotate-passphrase reads the old and the new passphrase as two lines of stdin', () => {
  const h = home();
  ok(vigo(h, ['init'], withPass()));
  const saltBefore = readFileSync(join(h, '.vigo-puddle', 'identity.salt'));
  const r = ok(vigo(h, ['rotate-passphrase'], { input: `${PASS}\nbrand new passphrase\n` }));
  assert.match(r.stdout, /Passphrase changed\n  Pubkey: ed25519:[0-9a-f]{64} \(unchanged\)/);
  assert.notDeepEqual(readFileSync(join(h, '.vigo-puddle', 'identity.salt')), saltBefore, 'a fresh salt');
  assert.equal(vigo(h, ['unlock', '--watch-pid', '0'], withPass()).status, 1);
  ok(vigo(h, ['unlock', '--watch-pid', '0'], withPass('brand new passphrase')));
  ok(vigo(h, ['lock']));
});

test('name set needs an unlocked puddle and a valid name; show and clear; a tampered claim is refused', () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], withPass()));
  const locked = vigo(h, ['name', 'set', 'alice']);
  assert.equal(locked.status, 1);
  assert.match(locked.stderr, /is locked\nhint: run `vigo swarm puddle unlock`/);
  ok(vigo(h, ['unlock', '--watch-pid', '0'], withPass()));
  for (const bad of ['.hidden', 'a'.repeat(65), 'a/b', 'f'.repeat(64)]) {
    const r = vigo(h, ['name', 'set', bad]);
    assert.equal(r.status, 1, bad);
    assert.match(r.stderr, /^error: /);
  }
  const set = ok(vigo(h, ['name', 'set', 'alice.ops-1']));
  assert.match(set.stdout, /Name claimed: alice\.ops-1\n.*\n  URLs:   gitback:\/\/alice\.ops-1\/<handle>/);
  assert.equal(ok(vigo(h, ['name', 'show'])).stdout, 'alice.ops-1\n');
  const claim = JSON.parse(readFileSync(join(dir, 'name-claim.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(claim.kind, 'name-claim');
  assert.equal(claim.pubkey, readFileSync(join(dir, 'identity.pub'), 'utf8').trim());
  assert.equal(readNameClaim(dir)?.name, 'alice.ops-1');
  assert.match(ok(vigo(h, ['status'])).stdout, /Name:        alice\.ops-1/);

  writeFileSync(join(dir, 'name-claim.json'), JSON.stringify({ ...claim, name: 'mallory' }));
  const tampered = vigo(h, ['name', 'show']);
  assert.equal(tampered.status, 1);
  assert.match(tampered.stderr, /name-claim\.json: .*signature.*\nhint: set the name again/);
  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { name: string | null; name_error?: string };
  assert.equal(st.name, null, 'status still works and does not show a forged name');
  assert.match(st.name_error ?? '', /signature/);
  assert.match(ok(vigo(h, ['name', 'clear'])).stdout, /Name claim removed/);
  assert.equal(ok(vigo(h, ['name', 'show'])).stdout, '(no name claimed)\n');
  ok(vigo(h, ['lock']));
});

test('a bad --idle-timeout or --watch-pid is a usage error with a hint', () => {
  const h = home();
  ok(vigo(h, ['init'], withPass()));
  const r = vigo(h, ['unlock', '--idle-timeout', '15 minutes'], withPass());
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--idle-timeout: "15 minutes" is not a duration.*\nhint: write it as seconds \(900\), or with a unit/);
  assert.match(vigo(h, ['unlock', '--watch-pid', 'me'], withPass()).stderr, /--watch-pid: "me" is not a process id/);
});

test('raising the KDF parameters later: an older, weaker wrapping still opens, status flags it, rotate-passphrase re-wraps with the defaults', async () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  await initIdentity(dir, PASS, {}, { kdf: { alg: 'argon2id', ...MIN_KDF } }); // as an older vigo would have written it
  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { kdf: { m_kib: number; below_defaults: boolean } };
  assert.equal(st.kdf.m_kib, MIN_KDF.m_kib);
  assert.equal(st.kdf.below_defaults, true);
  assert.match(ok(vigo(h, ['status'])).stdout, /Wrapping:    argon2id m=19456 KiB t=2 p=1 \+ xchacha20-poly1305 — below the current defaults/);
  ok(vigo(h, ['unlock', '--watch-pid', '0'], withPass()));
  ok(vigo(h, ['lock']));
  ok(vigo(h, ['rotate-passphrase'], { env: { VIGO_PUDDLE_PASSPHRASE: PASS, VIGO_PUDDLE_NEW_PASSPHRASE: PASS } }));
  const after = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { kdf: { m_kib: number; t: number; p: number; below_defaults: boolean } };
  assert.deepEqual(after.kdf, { alg: 'argon2id', m_kib: DEFAULT_KDF.m_kib, t: DEFAULT_KDF.t, p: DEFAULT_KDF.p, below_defaults: false });
});
