// The bolt key at rest: made once, 0600, sealed under the server's master key; reopened
// to the same pubkey; a file from another server (another master key), an edited pubkey
// or an edited ciphertext is refused naming the file, never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureMasterKey, masterKeyWrap, secretsPaths } from '../../src/server/index.js';
import { BOLT_KEY_WRAP_DOMAIN, boltKeyFile, loadOrCreateBoltIdentity } from '../../src/spanner/identity.js';
import { pubkeyHex, signingMessage, verifyRaw } from '../../src/trust/index.js';

function server(dir: string) {
  const p = secretsPaths(join(dir, 'secrets'), dir);
  ensureMasterKey(p);
  return { file: boltKeyFile(p.dir), wrap: masterKeyWrap(p, BOLT_KEY_WRAP_DOMAIN) };
}

test('the bolt key is made once (0600, no raw seed on disk) and reopens to the same signing key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bolt-id-'));
  try {
    const s = server(dir);
    const first = loadOrCreateBoltIdentity(s.file, s.wrap);
    assert.equal(first.created, true);
    assert.equal(statSync(s.file).mode & 0o777, 0o600);
    const again = loadOrCreateBoltIdentity(s.file, s.wrap);
    assert.equal(again.created, false);
    assert.equal(again.pubkey, first.pubkey);
    const msg = signingMessage('spanner-peer-request', { x: 1 });
    assert.ok(verifyRaw(again.signer.publicKey, msg, await again.signer.sign(msg)));
    assert.equal(pubkeyHex(again.signer.publicKey), first.pubkey);
    const text = readFileSync(s.file, 'utf8');
    assert.doesNotMatch(text, /seed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a key file from another server, with an edited pubkey or ciphertext, is refused naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bolt-id-'));
  try {
    const a = server(join(dir, 'a'));
    const b = server(join(dir, 'b'));
    const id = loadOrCreateBoltIdentity(a.file, a.wrap);
    // the same file under another master key
    assert.throws(() => loadOrCreateBoltIdentity(a.file, b.wrap), (e: Error & { code?: string }) => e.code === 'E_SECRETS_CORRUPT' && e.message.includes(a.file));
    // a wrap of another domain (another use of the same master key) does not open it either
    const p = secretsPaths(join(dir, 'a', 'secrets'), join(dir, 'a'));
    assert.throws(() => loadOrCreateBoltIdentity(a.file, masterKeyWrap(p, 'vigo/other/v1')), /cannot be opened/);
    const doc = JSON.parse(readFileSync(a.file, 'utf8')) as { pubkey: string; sealed: string };
    writeFileSync(a.file, JSON.stringify({ ...doc, pubkey: doc.pubkey.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }));
    assert.throws(() => loadOrCreateBoltIdentity(a.file, a.wrap), /cannot be opened/);
    const sealed = JSON.parse(doc.sealed) as { ct: string };
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[0] = ct[0]! ^ 1;
    writeFileSync(a.file, JSON.stringify({ ...doc, sealed: JSON.stringify({ ...sealed, ct: ct.toString('base64') }) }));
    assert.throws(() => loadOrCreateBoltIdentity(a.file, a.wrap), /cannot be opened/);
    writeFileSync(a.file, 'not json');
    assert.throws(() => loadOrCreateBoltIdentity(a.file, a.wrap), (e: Error & { code?: string }) => e.code === 'E_BOLT_KEY');
    assert.match(id.pubkey, /^[0-9a-f]{64}$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
