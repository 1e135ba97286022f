// kill -9 at named steps of init, rotate-passphrase and rekey-pair (VIGO_TEST_CRASH_AT makes
// the real CLI SIGKILL itself there): afterwards the puddle is in the old state or the new,
// never half of one, and every reader sees a consistent identity.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPublicKey, isInitialized } from '../../src/puddle/identity.js';
import { unwrapIdentity } from '../../src/puddle/store.js';
import { PASS, cleanupHome, ok, tempHome, vigo, withPass } from './harness.js';

const NEW = 'the new passphrase';
const homes: string[] = [];
let base = '';
let basePub = '';

before(() => {
  base = tempHome();
  homes.push(base);
  ok(vigo(base, ['init'], withPass()));
  basePub = readFileSync(join(base, '.vigo-puddle', 'identity.pub'), 'utf8').trim();
});
after(() => {
  for (const h of homes) cleanupHome(h);
});

function copyOfBase(): string {
  const h = tempHome();
  homes.push(h);
  cpSync(join(base, '.vigo-puddle'), join(h, '.vigo-puddle'), { recursive: true });
  chmodSync(join(h, '.vigo-puddle'), 0o700);
  return h;
}

function crash(h: string, args: string[], step: string, env: NodeJS.ProcessEnv): void {
  const r = vigo(h, args, { env: { ...env, VIGO_TEST_CRASH_AT: step } });
  assert.equal(r.signal, 'SIGKILL', `expected a kill -9 at ${step}; got ${r.status}: ${r.stderr}`);
}

/** Which passphrase opens the identity now, and which pubkey it holds (after recovery). */
async function opens(dir: string, pass: string): Promise<string | null> {
  try {
    const { seed, publicKey } = await unwrapIdentity(dir, pass);
    seed.fill(0);
    return Buffer.from(publicKey).toString('hex');
  } catch (e) {
    if ((e as { code?: string }).code === 'E_PUDDLE_BAD_PASSPHRASE') return null;
    throw e;
  }
}

function noJournalLeft(dir: string): void {
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.txn') || f === '.lock'), []);
}

for (const step of ['init:staging', 'init:staged', 'init:committed', 'init:applying', 'init:applied']) {
  test(`init killed at ${step} leaves no identity or a whole one`, async () => {
    const h = tempHome();
    homes.push(h);
    const dir = join(h, '.vigo-puddle');
    crash(h, ['init'], step, { VIGO_PUDDLE_PASSPHRASE: PASS });
    const committed = !step.startsWith('init:stag');
    assert.equal(isInitialized(dir), committed);
    noJournalLeft(dir);
    const files = readdirSync(dir).filter((f) => f.startsWith('identity.'));
    if (!committed) {
      assert.deepEqual(files, [], 'no identity file at all');
      ok(vigo(h, ['init'], withPass())); // and init works afterwards
    } else {
      assert.deepEqual(files.sort(), ['identity.pub', 'identity.salt', 'identity.wrapped']);
    }
    const pub = Buffer.from(readPublicKey(dir)).toString('hex');
    assert.equal(await opens(dir, PASS), pub);
  });
}

for (const step of ['rotate:staging', 'rotate:staged', 'rotate:committed', 'rotate:applying', 'rotate:applied']) {
  test(`rotate-passphrase killed at ${step} leaves the old passphrase or the new working`, async () => {
    const h = copyOfBase();
    const dir = join(h, '.vigo-puddle');
    crash(h, ['rotate-passphrase'], step, { VIGO_PUDDLE_PASSPHRASE: PASS, VIGO_PUDDLE_NEW_PASSPHRASE: NEW });
    const committed = !step.startsWith('rotate:stag');
    assert.equal(Buffer.from(readPublicKey(dir)).toString('hex'), basePub, 'same key either way');
    const withOld = await opens(dir, PASS);
    const withNew = await opens(dir, NEW);
    assert.equal(withOld, committed ? null : basePub);
    assert.equal(withNew, committed ? basePub : null);
    noJournalLeft(dir);
  });
}

for (const step of ['rekey:staging', 'rekey:staged', 'rekey:committed', 'rekey:applying', 'rekey:applied', 'rekey:hooks-done']) {
  test(`rekey-pair killed at ${step} leaves the old key or the new (and a resumable rekey)`, async () => {
    const h = copyOfBase();
    const dir = join(h, '.vigo-puddle');
    crash(h, ['rekey-pair'], step, { VIGO_PUDDLE_PASSPHRASE: PASS });
    const committed = !step.startsWith('rekey:stag');
    const pub = Buffer.from(readPublicKey(dir)).toString('hex'); // a reader: recovers first
    assert.equal(await opens(dir, PASS), pub, 'identity.pub and identity.wrapped agree');
    noJournalLeft(dir);
    const retired = join(dir, 'retired', `${basePub}.wrapped`);
    if (!committed) {
      assert.equal(pub, basePub);
      assert.equal(existsSync(retired), false);
      assert.equal(existsSync(join(dir, 'rekey.pending.json')), false);
      return;
    }
    assert.notEqual(pub, basePub);
    assert.ok(existsSync(retired) && existsSync(join(dir, 'retired', `${basePub}.salt`)));
    const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { rekey_pending: boolean };
    assert.equal(st.rekey_pending, true, 'status shows the interrupted rekey');
    const r = ok(vigo(h, ['rekey-pair'], withPass()));
    assert.match(r.stdout, /Rekey finished \(resumed\)/);
    assert.equal(Buffer.from(readPublicKey(dir)).toString('hex'), pub, 'resuming does not make another key');
    assert.equal(existsSync(join(dir, 'rekey.pending.json')), false);
  });
}
