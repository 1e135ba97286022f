// A forwarded per-bolt admin call, checked as the target bolt checks it: accepted only when
// signed by a live bolt, addressed to this bolt, inside the clock window, carrying the body
// that was signed, for this method, path and admin, and with a nonce not seen before. Each
// rule has its own refusal code, and each case below passes every other rule, so removing
// one rule lets exactly its case through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, seedSigner, toHex, type Hex } from '../../src/trust/index.js';
import { CLOCK_SKEW_S } from '../../src/spanner/client.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FORWARD_CODES, FORWARD_HEADERS, NonceCache, checkForward, signForward, type ForwardCode } from '../../src/spanner/forward.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const signer = () => seedSigner(generateKeyPair().seed);
const NOW = 1_800_000_000;
const sender = signer();
const target = signer();
const other = signer();
const live = new Set<Hex>([toHex(sender.publicKey), toHex(target.publicKey), toHex(other.publicKey)]);
const admin = { name: 'ops', role: 'admin' as const };
let n = 0;
const nonce = (): Hex => (++n).toString(16).padStart(32, '0');

async function signed(o: { by?: typeof sender; to?: Hex; body?: unknown; at?: number; path?: string; nonce?: Hex } = {}) {
  return signForward(o.by ?? sender, { spannerId: 'acme', to: o.to ?? toHex(target.publicKey), method: 'POST', path: o.path ?? '/api/v1/spanner/bolts/bolt-b/push', body: o.body ?? { envoy_id: 'db-1' }, admin, nowS: o.at ?? NOW, nonce: o.nonce ?? nonce() });
}

function check(headers: Record<string, string>, o: { body?: unknown; path?: string; nonces?: NonceCache; nowS?: number } = {}) {
  return checkForward(headers, { spannerId: 'acme', self: toHex(target.publicKey), method: 'POST', path: o.path ?? '/api/v1/spanner/bolts/bolt-b/push', body: 'body' in o ? o.body : { envoy_id: 'db-1' }, nowS: o.nowS ?? NOW, isLive: (k) => live.has(k), nonces: o.nonces ?? new NonceCache() });
}

const code = (r: ReturnType<typeof check>): ForwardCode | 'ok' => (r.ok ? 'ok' : r.code);

test('a well-formed forwarded call from a live bolt is accepted, with the admin it vouches for', async () => {
  const r = check(await signed());
  assert.ok(r.ok);
  assert.equal(r.from, toHex(sender.publicKey));
  assert.deepEqual(r.admin, admin);
  // the body is hashed canonically: key order does not matter
  assert.equal(code(check(await signed({ body: { a: 1, b: 2 } }), { body: { b: 2, a: 1 } })), 'ok');
});

test('each rule refuses its own forgery', async () => {
  // bad signature: one flipped nibble
  const h = await signed();
  const sig = h[FORWARD_HEADERS.sig]!;
  assert.equal(code(check({ ...h, [FORWARD_HEADERS.sig]: (sig[0] === '0' ? '1' : '0') + sig.slice(1) })), 'E_FORWARD_SIGNATURE');
  // another admin or role written into a signed call
  assert.equal(code(check({ ...(await signed()), [FORWARD_HEADERS.admin]: 'admin:root' })), 'E_FORWARD_SIGNATURE');
  // another path than the one signed (a GET of envoys turned into a drain)
  assert.equal(code(check(await signed(), { path: '/api/v1/spanner/bolts/bolt-b/drain' })), 'E_FORWARD_SIGNATURE');
  // a sender not live in this roster (never admitted, or revoked)
  assert.equal(code(check(await signed({ by: signer() }))), 'E_FORWARD_NOT_LIVE');
  // signed for another bolt, sent here
  assert.equal(code(check(await signed({ to: toHex(other.publicKey) }))), 'E_FORWARD_NOT_FOR_US');
  // the body is not the signed one (the signed hash travels in its header)
  assert.equal(code(check(await signed({ body: { envoy_id: 'db-1' } }), { body: { envoy_id: 'db-2' } })), 'E_FORWARD_BODY_MISMATCH');
  // outside the clock window, either side
  assert.equal(code(check(await signed({ at: NOW - CLOCK_SKEW_S - 1 }))), 'E_FORWARD_STALE');
  assert.equal(code(check(await signed({ at: NOW + CLOCK_SKEW_S + 1 }))), 'E_FORWARD_STALE');
  assert.equal(code(check(await signed({ at: NOW - CLOCK_SKEW_S }))), 'ok');
  // missing or malformed headers
  const { [FORWARD_HEADERS.nonce]: _n, ...noNonce } = await signed();
  assert.equal(code(check(noNonce)), 'E_FORWARD_MALFORMED');
  assert.equal(code(check({ ...(await signed()), [FORWARD_HEADERS.admin]: 'root:ops' })), 'E_FORWARD_MALFORMED');
});

test('a replay inside the window is refused; a forged call burns no nonce', async () => {
  const nonces = new NonceCache();
  const h = await signed();
  assert.equal(code(check(h, { nonces })), 'ok');
  assert.equal(code(check(h, { nonces })), 'E_FORWARD_REPLAY');
  assert.equal(code(check(h, { nonces, nowS: NOW + 10 })), 'E_FORWARD_REPLAY');
  // after the window the replay is stale anyway
  assert.equal(code(check(h, { nonces, nowS: NOW + CLOCK_SKEW_S + 1 })), 'E_FORWARD_STALE');
  // a forgery with a nonce the honest sender will use next does not spend it
  const next = nonce();
  const forged = await signed({ by: signer(), nonce: next });
  assert.equal(code(check(forged, { nonces })), 'E_FORWARD_NOT_LIVE');
  assert.equal(code(check(await signed({ nonce: next }), { nonces })), 'ok');
});

test('the nonce cache is bounded: full of live nonces it refuses rather than forgets', async () => {
  const nonces = new NonceCache(2);
  assert.equal(code(check(await signed(), { nonces })), 'ok');
  assert.equal(code(check(await signed(), { nonces })), 'ok');
  assert.equal(code(check(await signed(), { nonces })), 'E_FORWARD_BUSY');
  // once the first two leave the window they are pruned
  assert.equal(code(check(await signed({ at: NOW + CLOCK_SKEW_S + 1 }), { nonces, nowS: NOW + CLOCK_SKEW_S + 1 })), 'ok');
  assert.equal(nonces.size, 1);
});

test('the signed bytes are frozen (the worked example in docs/spanner.md)', async () => {
  const a = seedSigner(new Uint8Array(32).fill(1));
  const b = seedSigner(new Uint8Array(32).fill(2));
  const h = await signForward(a, { spannerId: 'acme-prod', to: toHex(b.publicKey), method: 'POST', path: '/api/v1/spanner/bolts/bolt-b/push', body: { envoy_id: 'db-1' }, admin: { name: 'ops', role: 'admin' }, nowS: 1_800_000_000, nonce: '00112233445566778899aabbccddeeff' });
  const want = {
    'x-vigo-bolt': '8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c',
    'x-vigo-bolt-at': '1800000000',
    'x-vigo-bolt-sig': 'f547840c163321d65cb80f6a6e3e02d5cbc5bf91affe5fe3f0db8ad155994a16d90c9cabc0a92931cbdcbe2fa17943bc3b6db3682b21f28ff205774369552600',
    'x-vigo-forward-to': '8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394',
    'x-vigo-forward-nonce': '00112233445566778899aabbccddeeff',
    'x-vigo-forward-body-sha256': '4c5526b68438a0627e380b266fa62e9478654248feacce8237407ce0effbf912',
    'x-vigo-forward-admin': 'admin:ops',
  };
  assert.deepEqual(h, want);
  const doc = readFileSync(join(root, 'docs', 'spanner.md'), 'utf8');
  for (const v of Object.values(want)) assert.ok(doc.includes(v), `docs/spanner.md shows ${v}`);
  // every refusal is named in the docs
  for (const c of FORWARD_CODES) assert.ok(doc.includes(`\`${c}\``), c);
});
