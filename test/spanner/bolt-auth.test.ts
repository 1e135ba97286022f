// The invite bundle and the bolt-to-bolt signed request, byte for byte: a bundle altered
// anywhere fails its signature; a join proof made by another key is refused; a signed
// request is accepted only from a live roster key, for this bolt, path and body, within
// the clock skew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, seedSigner, toHex, sha256Hex, canonicalize, signingMessage, type Hex } from '../../src/trust/index.js';
import { BUNDLE_PREFIX, checkJoinRequest, mintInvite, parseBundle, signJoinRequest } from '../../src/spanner/service-invite.js';
import { checkPeerRequest, CLOCK_SKEW_S, PEER_REQUEST_KIND } from '../../src/spanner/client.js';
import { SIM_CA_PEM } from '../../src/spanner/sim-ca.js';

const signer = () => seedSigner(generateKeyPair().seed);

test('a bundle altered in any field fails its signature; a good one round-trips', async () => {
  const inviter = signer();
  const { bundle, invite } = await mintInvite(inviter, { spanner_id: 'acme', peer_addr: '10.0.0.1:8443', ca_sha256: 'ab'.repeat(32), token: 'cd'.repeat(32), expires_at: 2_000_000_000 });
  assert.ok(bundle.startsWith(BUNDLE_PREFIX));
  assert.deepEqual(parseBundle(bundle), invite);
  for (const [k, v] of Object.entries({ spanner_id: 'other', peer_addr: '10.6.6.6:8443', ca_sha256: 'ee'.repeat(32), token: 'ff'.repeat(32), expires_at: 2_000_000_001, inviter: toHex(signer().publicKey) })) {
    const altered = BUNDLE_PREFIX + Buffer.from(JSON.stringify({ ...invite, [k]: v }), 'utf8').toString('base64url');
    assert.throws(() => parseBundle(altered), (e: Error & { code?: string }) => e.code === 'E_INVITE_SIGNATURE', k);
  }
  assert.throws(() => parseBundle(BUNDLE_PREFIX + Buffer.from(JSON.stringify({ ...invite, extra: 1 })).toString('base64url')), (e: Error & { code?: string }) => e.code === 'E_INVITE_MALFORMED');
  assert.throws(() => parseBundle('nope'), /does not start with vgsi1_/);
});

test('a join proof must be made by the key that asks to be admitted', async () => {
  const inviter = signer();
  const joinerKey = signer();
  const { bundle, invite } = await mintInvite(inviter, { spanner_id: 'acme', peer_addr: '10.0.0.1:8443', ca_sha256: 'ab'.repeat(32), token: 'cd'.repeat(32), expires_at: 2_000_000_000 });
  const joiner = { bolt_id: 'b', pubkey: toHex(joinerKey.publicKey), hostname: 'bolt-b', peer_addr: '10.0.0.2:8443', patterns: ['db-*'], envoy_ca_pem: SIM_CA_PEM };
  const good = await signJoinRequest(joinerKey, bundle, invite, joiner);
  assert.equal(checkJoinRequest(good, invite, 'acme').pubkey, joiner.pubkey);
  const byOther = await signJoinRequest(signer(), bundle, invite, joiner);
  assert.throws(() => checkJoinRequest(byOther, invite, 'acme'), (e: Error & { code?: string }) => e.code === 'E_JOIN_PROOF');
  assert.throws(() => checkJoinRequest({ ...good, joiner: { ...joiner, patterns: ['db-*', 'web-*'] } }, invite, 'acme'), (e: Error & { code?: string }) => e.code === 'E_JOIN_PROOF');
  assert.throws(() => checkJoinRequest({ ...good, joiner: { ...joiner, extra: 1 } as typeof joiner }, invite, 'acme'), (e: Error & { code?: string }) => e.code === 'E_JOIN_MALFORMED');
});

test('a signed bolt request is accepted only from a live key, to this bolt, for this path and body, within the skew', async () => {
  const peer = signer();
  const from = toHex(peer.publicKey);
  const self = toHex(signer().publicKey);
  const now = 1_900_000_000;
  const body = { v: 1, t: 'digest' };
  const sign = async (o: { to?: Hex; path?: string; at?: number; body?: unknown; spanner?: string }) => ({
    'x-vigo-bolt': from,
    'x-vigo-bolt-at': String(o.at ?? now),
    'x-vigo-bolt-sig': toHex(
      await peer.sign(
        signingMessage(PEER_REQUEST_KIND, { spanner_id: o.spanner ?? 'acme', from, to: o.to ?? self, method: 'POST', path: o.path ?? '/g', at: o.at ?? now, body_sha256: sha256Hex(canonicalize(o.body ?? body)) }),
      ),
    ),
  });
  const check = (h: Record<string, string>, isLive = true) => checkPeerRequest(h, { spannerId: 'acme', self, method: 'POST', path: '/g', body, nowS: now, isLive: () => isLive });
  assert.deepEqual(check(await sign({})), { ok: true, from });
  assert.match((check(await sign({}), false) as { message: string }).message, /not a live bolt/);
  for (const bad of [{ to: toHex(signer().publicKey) }, { path: '/other' }, { body: { v: 2 } }, { spanner: 'other' }]) {
    assert.match((check(await sign(bad)) as { message: string }).message, /does not verify/, JSON.stringify(bad));
  }
  assert.match((check(await sign({ at: now - CLOCK_SKEW_S - 1 })) as { message: string }).message, /s from this bolt's clock/);
  assert.match((check({}) as { message: string }).message, /are required/);
});
