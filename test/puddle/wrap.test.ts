// The wrapping format: round trip, wrong passphrase, tampering with anything the AEAD binds,
// and a strict parser that names the file and field and refuses parameters below OWASP's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair, toHex } from '../../src/trust/index.js';
import { DEFAULT_KDF, MIN_KDF, parseWrapped, serializeWrapped, unwrapSeed, wrapSeed, type KdfParams, type WrappedKey } from '../../src/puddle/wrap.js';

const FAST: KdfParams = { alg: 'argon2id', ...MIN_KDF };
const PASS = 'a passphrase';

async function fixture() {
  const { publicKey, seed } = generateKeyPair();
  const salt = new Uint8Array(randomBytes(16));
  const w = await wrapSeed({ seed, publicKey, passphrase: PASS, salt, nonce: new Uint8Array(randomBytes(24)), kdf: FAST });
  return { publicKey, seed, salt, w };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('the default KDF parameters are at least the OWASP minimum for Argon2id', () => {
  assert.equal(DEFAULT_KDF.alg, 'argon2id');
  assert.ok(DEFAULT_KDF.m_kib >= 19456 && DEFAULT_KDF.t >= 2 && DEFAULT_KDF.p >= 1);
});

test('wrap then unwrap gives the seed back; the file records the parameters, not the seed', async () => {
  const { seed, salt, w, publicKey } = await fixture();
  assert.deepEqual(w.kdf, FAST);
  assert.equal(w.pubkey, toHex(publicKey));
  const text = serializeWrapped(w);
  assert.equal(text.includes(toHex(seed)), false);
  const back = await unwrapSeed(parseWrapped(text, 'identity.wrapped'), salt, PASS, 'identity.wrapped');
  assert.deepEqual(back, seed);
});

test('a wrong passphrase, another salt, or any altered bound field fails as E_PUDDLE_BAD_PASSPHRASE', async () => {
  const { salt, w } = await fixture();
  await assert.rejects(unwrapSeed(w, salt, 'not it', 'f'), code('E_PUDDLE_BAD_PASSPHRASE'));
  await assert.rejects(unwrapSeed(w, new Uint8Array(randomBytes(16)), PASS, 'f'), code('E_PUDDLE_BAD_PASSPHRASE'));
  const other = toHex(generateKeyPair().publicKey);
  await assert.rejects(unwrapSeed({ ...w, pubkey: other }, salt, PASS, 'f'), code('E_PUDDLE_BAD_PASSPHRASE'));
  const flipped = w.ciphertext.slice(0, -1) + (w.ciphertext.endsWith('0') ? '1' : '0');
  await assert.rejects(unwrapSeed({ ...w, ciphertext: flipped }, salt, PASS, 'f'), code('E_PUDDLE_BAD_PASSPHRASE'));
  // raising t in the file (without re-wrapping) changes the derived key: refused, not a different key
  await assert.rejects(unwrapSeed({ ...w, kdf: { ...w.kdf, t: w.kdf.t + 1 } }, salt, PASS, 'f'), code('E_PUDDLE_BAD_PASSPHRASE'));
  await assert.rejects(unwrapSeed(w, new Uint8Array(15), PASS, 'f'), code('E_PUDDLE_CORRUPT'));
});

test('the parser is strict and names the file and the field', async () => {
  const { w } = await fixture();
  const mutate = (f: (o: Record<string, unknown>) => void) => {
    const o = JSON.parse(serializeWrapped(w)) as Record<string, unknown>;
    f(o);
    return JSON.stringify(o);
  };
  const bad = (text: string, re: RegExp, c = 'E_PUDDLE_CORRUPT') =>
    assert.throws(() => parseWrapped(text, '/h/.vigo-puddle/identity.wrapped'), (e: Error & { code?: string }) => {
      assert.equal(e.code, c);
      assert.match(e.message, /^\/h\/\.vigo-puddle\/identity\.wrapped: /);
      assert.match(e.message, re);
      return true;
    });
  bad('{', /not valid JSON/);
  bad('[]', /must be a JSON object/);
  bad(mutate((o) => (o.v = 2)), /unsupported format version 2/);
  bad(mutate((o) => (o.extra = 1)), /unknown field extra/);
  bad(mutate((o) => delete o.nonce), /missing field nonce/);
  bad(mutate((o) => ((o.kdf as KdfParams).m_kib = 1024)), /kdf\.m_kib must be an integer in 19456\.\./);
  bad(mutate((o) => ((o.kdf as KdfParams).t = 1)), /kdf\.t must be/);
  bad(mutate((o) => ((o.kdf as KdfParams).m_kib = 1 << 30)), /kdf\.m_kib/);
  bad(mutate((o) => ((o.kdf as Record<string, unknown>).alg = 'scrypt')), /kdf\.alg must be "argon2id"/);
  bad(mutate((o) => (o.pubkey = 'ED25519')), /pubkey must be 64 lowercase hex/);
  bad(mutate((o) => (o.ciphertext = 'abcd')), /ciphertext must be 96 lowercase hex/);
  bad(mutate((o) => (o.aead = 'aes-gcm')), /aead must be/);
  const ok: WrappedKey = parseWrapped(serializeWrapped(w), 'f');
  assert.deepEqual(ok, w);
});
