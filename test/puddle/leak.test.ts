// The private key never shows up outside identity.wrapped's ciphertext: not in any other
// file, not in the helper's log, its argv or its environment, not in any output or error.
// A whole session is played (init, unlock, sign, name, wrong passphrase, rotate, rekey,
// lock), then every seed the puddle ever had is searched for in every form.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sessionSigner } from '../../src/puddle/index.js';
import { parseWrapped, unwrapSeed } from '../../src/puddle/wrap.js';
import { PASS, cleanupHome, helperPid, ok, tempHome, transcript, vigo, withPass } from './harness.js';

const NEW = 'rotated passphrase';
const h = tempHome();
after(() => cleanupHome(h));

function walk(d: string): string[] {
  return readdirSync(d).flatMap((n) => {
    const p = join(d, n);
    const st = statSync(p);
    return st.isDirectory() ? walk(p) : st.isFile() ? [p] : [];
  });
}

async function seedOf(wrappedPath: string, saltPath: string, pass: string): Promise<Buffer> {
  const w = parseWrapped(readFileSync(wrappedPath, 'utf8'), wrappedPath);
  return Buffer.from(await unwrapSeed(w, new Uint8Array(readFileSync(saltPath)), pass, wrappedPath));
}

function forms(seed: Buffer): Buffer[] {
  const hex = seed.toString('hex');
  return [seed, hex, hex.toUpperCase(), seed.toString('base64'), seed.toString('base64url'), seed.subarray(0, 16).toString('hex')].map((f) =>
    typeof f === 'string' ? Buffer.from(f) : f,
  );
}

test('no trace of the private key anywhere but identity.wrapped ciphertext', async () => {
  const dir = join(h, '.vigo-puddle');
  const seen: Buffer[] = [];
  ok(vigo(h, ['init'], withPass()));
  const passFile = join(h, 'pass');
  writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
  ok(vigo(h, ['unlock', '--passphrase-file', passFile, '--watch-pid', '0']));
  const pid1 = helperPid(h);
  assert.ok(pid1 !== null);
  seen.push(readFileSync(`/proc/${pid1}/cmdline`), readFileSync(`/proc/${pid1}/environ`));
  assert.doesNotMatch(readFileSync(`/proc/${pid1}/environ`, 'utf8'), /VIGO_PUDDLE_PASSPHRASE/, 'the helper never gets the passphrase');
  await (await sessionSigner(dir)).sign(new TextEncoder().encode('hello'));
  ok(vigo(h, ['name', 'set', 'leak-test']));
  ok(vigo(h, ['status', '--json']));
  assert.notEqual(vigo(h, ['rotate-passphrase'], { env: { VIGO_PUDDLE_PASSPHRASE: 'wrong wrong', VIGO_PUDDLE_NEW_PASSPHRASE: NEW } }).status, 0);
  ok(vigo(h, ['rotate-passphrase'], { env: { VIGO_PUDDLE_PASSPHRASE: PASS, VIGO_PUDDLE_NEW_PASSPHRASE: NEW } }));
  const oldPub = readFileSync(join(dir, 'identity.pub'), 'utf8').trim();
  ok(vigo(h, ['rekey-pair'], withPass(NEW)));
  const pid2 = helperPid(h);
  assert.ok(pid2 !== null && pid2 !== pid1, 'the session was refreshed with the new key');
  seen.push(readFileSync(`/proc/${pid2}/cmdline`), readFileSync(`/proc/${pid2}/environ`));
  await (await sessionSigner(dir)).sign(new TextEncoder().encode('hello again'));
  assert.match(ok(vigo(h, ['unlock', '--passphrase-file', passFile])).stdout, /already unlocked/);
  ok(vigo(h, ['lock']));
  assert.notEqual(vigo(h, ['unlock'], withPass('wrong wrong')).status, 0);
  ok(vigo(h, ['name', 'show']));

  const oldSeed = await seedOf(join(dir, 'retired', `${oldPub}.wrapped`), join(dir, 'retired', `${oldPub}.salt`), NEW);
  const newSeed = await seedOf(join(dir, 'identity.wrapped'), join(dir, 'identity.salt'), NEW);
  const needles = [...forms(oldSeed), ...forms(newSeed)];
  const files = walk(h);
  assert.ok(files.some((f) => f.endsWith('session.log')));
  const hay: [string, Buffer][] = [
    ...files.map((f) => [f, readFileSync(f)] as [string, Buffer]),
    ...transcript.map((t, i) => [`output #${i}`, Buffer.from(t)] as [string, Buffer]),
    ...seen.map((b, i) => [`helper /proc entry #${i}`, b] as [string, Buffer]),
  ];
  for (const [where, bytes] of hay) {
    for (const n of needles) assert.equal(bytes.indexOf(n), -1, `key material found in ${where}`);
  }
  // and the search itself can fail: the seed is findable where it is planted
  assert.notEqual(Buffer.concat([Buffer.from('x'), newSeed]).indexOf(forms(newSeed)[0] as Buffer), -1);
});
