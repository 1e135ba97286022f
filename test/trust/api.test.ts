// The trust core's public API, used the way the CLI and the helper daemon use it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalize,
  checkToken,
  currentFounder,
  decodePushChainHeader,
  DELEGATION_MAX_LEN,
  encodePushChainHeader,
  envelopeId,
  formatInvitation,
  formatPublicKey,
  fromHex,
  generateKeyPair,
  isHex64,
  mintBootstrapToken,
  mintChildToken,
  mintDelegation,
  mintLeave,
  mintNameClaim,
  mintRevoke,
  parseExpires,
  parseInvitation,
  parsePublicKey,
  parseStrictJson,
  projectId,
  publicKeyFromSeed,
  seedSigner,
  sha256Hex,
  signingMessage,
  signRaw,
  toHex,
  tokenId,
  TrustError,
  validateHandle,
  verifyChain,
  VerifyCache,
  verifyInvitation,
  verifyLeave,
  verifyNameClaim,
  verifyRaw,
  verifyRevoke,
  type Delegation,
  type Invitation,
} from '../../src/trust/index.js';

const NOW = 1_764_000_000;
const seed = (n: number) => new Uint8Array(32).fill(n);
const founder = seedSigner(seed(1));
const alice = seedSigner(seed(2));
const bob = seedSigner(seed(3));
const hex = (s: { publicKey: Uint8Array }) => toHex(s.publicKey);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TrustError, `expected a TrustError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected a TrustError');
}

test('keys: generate, derive, sign and verify; hex and ed25519: forms parse', () => {
  const kp = generateKeyPair();
  assert.equal(kp.seed.length, 32);
  assert.deepEqual(publicKeyFromSeed(kp.seed), kp.publicKey);
  const msg = new TextEncoder().encode('hello');
  const sig = signRaw(kp.seed, msg);
  assert.equal(verifyRaw(kp.publicKey, msg, sig), true);
  assert.equal(verifyRaw(kp.publicKey, new TextEncoder().encode('hellO'), sig), false);
  const h = toHex(kp.publicKey);
  assert.deepEqual(parsePublicKey(h), kp.publicKey);
  assert.deepEqual(parsePublicKey(`ed25519:${h}`), kp.publicKey);
  assert.deepEqual(parsePublicKey(h.toUpperCase()), kp.publicKey);
  assert.equal(formatPublicKey(kp.publicKey), `ed25519:${h}`);
  assert.equal(code(() => parsePublicKey('ed25519:abc')), 'E_BAD_PUBKEY');
  assert.equal(code(() => parsePublicKey(`ed448:${h}`)), 'E_BAD_PUBKEY');
  assert.equal(code(() => fromHex('abc')), 'E_MALFORMED');
});

test('handles, names and --expires follow the page rules', () => {
  for (const ok of ['vigo-web', 'a', 'A_b.c-1', 'x'.repeat(64)]) validateHandle(ok);
  for (const bad of ['', '.hidden', 'x'.repeat(65), 'a/b', 'über', 'a b', 'ab'.repeat(32)]) {
    assert.equal(code(() => validateHandle(bad)), 'E_BAD_HANDLE', bad);
  }
  assert.equal(parseExpires('30d'), 30 * 86400);
  assert.equal(parseExpires('30'), 30 * 86400);
  for (const bad of ['0', '30h', '-1', '1.5', '', 'd', '36501']) assert.equal(code(() => parseExpires(bad)), 'E_BAD_EXPIRES', bad);
  assert.equal(projectId(founder.publicKey, 'vigo-web'), sha256Hex(Buffer.concat([founder.publicKey, Buffer.from('vigo-web')])));
});

test('canonicalize is RFC 8785 and refuses what JSON cannot carry', () => {
  assert.equal(canonicalize({ b: [1, 2.5, 1e21, -0], a: 'é\n', c: null }), '{"a":"é\\n","b":[1,2.5,1e+21,0],"c":null}');
  assert.equal(code(() => canonicalize({ a: undefined })), 'E_MALFORMED');
  assert.equal(code(() => canonicalize(NaN)), 'E_MALFORMED');
  assert.equal(code(() => canonicalize('\ud800')), 'E_MALFORMED');
  assert.equal(code(() => canonicalize(new Date(0))), 'E_MALFORMED');
  const msg = signingMessage('token', { z: 1, sig: 'ignored', a: 2 });
  assert.equal(Buffer.from(msg).toString('utf8'), 'vigo/token/v1\u0000{"a":2,"z":1}');
});

test('parseStrictJson rejects duplicate keys, bad UTF-8, deep and large input', () => {
  assert.deepEqual(parseStrictJson('{"a":[1,{"b":null}]}'), { a: [1, { b: null }] });
  assert.equal(code(() => parseStrictJson('{"a":1,"a":2}')), 'E_MALFORMED');
  assert.equal(code(() => parseStrictJson(new Uint8Array([0x22, 0xff, 0x22]))), 'E_MALFORMED');
  assert.equal(code(() => parseStrictJson('['.repeat(40) + ']'.repeat(40))), 'E_OVERSIZE');
  assert.equal(code(() => parseStrictJson('"' + 'x'.repeat(100) + '"', { maxBytes: 50 })), 'E_OVERSIZE');
  const proto = parseStrictJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.keys(proto), ['__proto__']);
});

test('a founder, an admin and a member: the chain verifies with the right role for each', async () => {
  const root = await mintBootstrapToken(founder, 'vigo-web', NOW);
  const pid = root.project_id;
  assert.equal(pid, projectId(founder.publicKey, 'vigo-web'));
  const a = await mintChildToken(founder, [root], alice.publicKey, 'admin', NOW + 1, null);
  const m = await mintChildToken(alice, [root, a], hex(bob), 'member', NOW + 2, NOW + 30 * 86400);
  assert.equal(m.parent, tokenId(a));
  const base = { projectId: pid, delegations: [], revoked: new Map<string, string | null>(), now: NOW + 10 };
  const r0 = verifyChain({ ...base, chain: [root], presenter: founder.publicKey });
  assert.deepEqual(r0.ok && [r0.role, r0.depth, r0.founder], ['admin', 1, hex(founder)]);
  const r2 = verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob) });
  assert.deepEqual(r2.ok && [r2.role, r2.depth, r2.leaf.subject], ['member', 3, hex(bob)]);
  const wrong = verifyChain({ ...base, chain: [root, a, m], presenter: alice.publicKey });
  assert.equal(!wrong.ok && wrong.code, 'E_PRESENTER_MISMATCH');
  const revoked = verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob), revoked: new Map([[tokenId(a), 'left the team']]) });
  assert.equal(!revoked.ok && revoked.code, 'E_REVOKED');
  assert.match(!revoked.ok ? revoked.message : '', /left the team/);
  const expired = verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob), now: NOW + 31 * 86400 });
  assert.equal(!expired.ok && expired.code, 'E_EXPIRED');
  await assert.rejects(mintChildToken(bob, [root, a, m], hex(alice), 'member', NOW + 3, null), { code: 'E_NOT_ADMIN_MINT' });
  await assert.rejects(mintChildToken(bob, [root, a], hex(alice), 'member', NOW + 3, null), { code: 'E_ISSUER_NOT_PARENT_SUBJECT' });
  const cache = new VerifyCache();
  for (let i = 0; i < 2; i++) assert.equal(verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob), cache }).ok, true);
  assert.equal(cache.size, 3);
  const forged = { ...m, role: 'admin' as const };
  const viaCache = verifyChain({ ...base, chain: [root, a, forged], presenter: hex(bob), cache });
  assert.equal(!viaCache.ok && viaCache.code, 'E_BAD_SIGNATURE');
  const padded = verifyChain({ ...base, chain: [root, a, { ...m, admin: true } as unknown as typeof m], presenter: hex(bob), cache });
  assert.equal(!padded.ok && padded.code, 'E_MALFORMED');
  const ok = verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob), cache });
  assert.ok(ok.ok);
  ok.leaf.role = 'admin'; // the result is the caller's copy; the cache is unaffected
  assert.deepEqual(verifyChain({ ...base, chain: [root, a, m], presenter: hex(bob), cache }).ok && 'member', 'member');
});

test('a revoked or given-up leaf is refused whatever holds the revocations, also after a cached check with none', async () => {
  // The verifier skips the leaf's id when no map could hold it (no cache, empty Maps); an
  // operator's revocation of the very token presented must still be found in every other case.
  const root = await mintBootstrapToken(founder, 'vigo-ops', NOW);
  const m = await mintChildToken(founder, [root], hex(alice), 'member', NOW + 1, null);
  const base = { projectId: root.project_id, delegations: [], now: NOW + 10 };
  const lookup = (id: string) => ({ has: (k: string) => k === id, get: (k: string) => (k === id ? 'key lost' : undefined) }) as unknown as ReadonlyMap<string, string | null>;
  for (const [chain, presenter] of [[[root], founder.publicKey], [[root, m], hex(alice)]] as const) {
    const leafId = tokenId(chain[chain.length - 1]!);
    const input = { ...base, chain: [...chain], presenter };
    assert.ok(verifyChain({ ...input, revoked: new Map() }).ok, `depth ${chain.length} verifies with nothing revoked`);
    for (const revoked of [new Map([[leafId, 'key lost']]), new Map([['0'.repeat(64), null], [leafId, 'key lost']]), lookup(leafId)]) {
      const r = verifyChain({ ...input, revoked });
      assert.equal(!r.ok && r.code, 'E_REVOKED', `depth ${chain.length}, revoked held in a ${revoked instanceof Map ? 'Map' : 'lookup object'}`);
    }
    const left = verifyChain({ ...input, revoked: new Map(), left: new Map([[leafId, null]]) });
    assert.equal(!left.ok && left.code, 'E_LEFT', `depth ${chain.length}`);
    // A cache filled while nothing was revoked must remember the leaf's real id.
    const cache = new VerifyCache();
    assert.ok(verifyChain({ ...input, revoked: new Map(), cache }).ok);
    const again = verifyChain({ ...input, revoked: new Map([[leafId, 'key lost']]), cache });
    assert.equal(!again.ok && again.code, 'E_REVOKED', `depth ${chain.length}, through the cache`);
  }
});

test('isHex64 gives the same answer for a string however often it is asked, and for 2,000 distinct ones', () => {
  // It remembers strings that passed; a forged field must never pass because an equal-length
  // or look-alike string passed before, nor after the memory fills up and is cleared.
  const good = 'ab'.repeat(32);
  const bad = ['AB'.repeat(32), 'ab'.repeat(31) + 'a', 'ab'.repeat(31) + 'ag', `${'ab'.repeat(31)}a\u0000`, ` ${'ab'.repeat(31)}a`];
  for (let round = 0; round < 3; round++) {
    assert.equal(isHex64(good), true);
    for (const b of bad) assert.equal(isHex64(b), false, JSON.stringify(b));
  }
  for (let i = 0; i < 2000; i++) {
    const h = i.toString(16).padStart(64, '0');
    assert.equal(isHex64(h), true);
    assert.equal(isHex64(h.toUpperCase().replace(/^0/, 'F')), false);
  }
  for (const b of bad) assert.equal(isHex64(b), false, JSON.stringify(b));
});

test('founder rekey: delegations carry authority; the retired key cannot mint new roots', async () => {
  const root = await mintBootstrapToken(founder, 'team', NOW);
  const pid = root.project_id;
  const d1 = await mintDelegation(founder, pid, [], alice.publicKey, NOW + 100);
  const bridge = await mintChildToken(founder, [root], alice.publicKey, 'admin', NOW + 100, null);
  assert.equal(currentFounder(hex(founder), [d1]), hex(alice));
  const base = { projectId: pid, delegations: [d1], revoked: new Map<string, string | null>(), now: NOW + 200 };
  const r = verifyChain({ ...base, chain: [root, bridge], presenter: alice.publicKey });
  assert.deepEqual(r.ok && [r.role, r.founder], ['admin', hex(alice)]);
  const newRoot = await mintBootstrapToken(alice, 'team', NOW + 150);
  // alice's own bootstrap carries alice's project id; under the genesis project it is a new-founder root
  const rootForGenesis = verifyChain({ ...base, chain: [newRoot], presenter: alice.publicKey });
  assert.equal(!rootForGenesis.ok && rootForGenesis.code, 'E_WRONG_PROJECT');
  const late = await mintBootstrapToken(founder, 'team', NOW + 150);
  const deposed = verifyChain({ ...base, chain: [late], presenter: founder.publicKey });
  assert.equal(!deposed.ok && deposed.code, 'E_DELEGATION_WINDOW');
  let list: Delegation[] = [d1];
  const keys = [alice, bob, seedSigner(seed(4)), seedSigner(seed(5)), seedSigner(seed(6))];
  for (let i = 1; i < DELEGATION_MAX_LEN; i++) list = [...list, await mintDelegation(keys[i - 1]!, pid, list, keys[i]!.publicKey, NOW + 100 + i)];
  await assert.rejects(mintDelegation(keys[4]!, pid, list, seed(7).fill(9), NOW + 200), { code: 'E_DELEGATION_CAP' });
});

test('revoke, leave and name claims sign and verify; tampering is caught', async () => {
  const root = await mintBootstrapToken(founder, 'proj', NOW);
  const pid = root.project_id;
  const a = await mintChildToken(founder, [root], alice.publicKey, 'admin', NOW, null);
  const m = await mintChildToken(alice, [root, a], bob.publicKey, 'member', NOW, null);
  const rv = await mintRevoke(alice, [root, a], [], tokenId(m), 'lost laptop', NOW + 5);
  assert.equal(verifyRevoke(rv, pid, NOW + 10).token_id, tokenId(m));
  const { sig: _sig, ...unsigned } = rv;
  assert.equal(envelopeId(rv), sha256Hex(canonicalize(unsigned)));
  assert.equal(code(() => verifyRevoke({ ...rv, reason: 'other' }, pid, NOW + 10)), 'E_BAD_SIGNATURE');
  assert.equal(code(() => verifyRevoke(rv, 'ab'.repeat(32), NOW + 10)), 'E_WRONG_PROJECT');
  const lv = await mintLeave(bob, [root, a, m], [], NOW + 6);
  assert.equal(lv.token_id, tokenId(m));
  assert.equal(verifyLeave(lv, pid, NOW + 10).subject, hex(bob));
  assert.equal(code(() => verifyLeave({ ...lv, subject: hex(alice) }, pid, NOW + 10)), 'E_PRESENTER_MISMATCH');
  assert.equal(code(() => verifyLeave({ ...lv, issued_at: NOW + 7 }, pid, NOW + 10)), 'E_BAD_SIGNATURE');
  // a leave never names another token than its own chain's leaf, nor the root
  assert.equal(code(() => verifyLeave({ ...lv, token_id: tokenId(a) }, pid, NOW + 10)), 'E_LEAVE_NOT_LEAF');
  await assert.rejects(mintLeave(founder, [root], [], NOW), { code: 'E_LEAVE_ROOT' });
  await assert.rejects(mintLeave(alice, [root, a, m], [], NOW), { code: 'E_PRESENTER_MISMATCH' });
  const nc = await mintNameClaim(alice, 'alice', NOW);
  assert.equal(verifyNameClaim(nc).pubkey, hex(alice));
  assert.equal(code(() => verifyNameClaim({ ...nc, name: 'mallory' })), 'E_BAD_SIGNATURE');
});

test('invitations and X-Vigo-Chain round-trip; a bare chain from an older sender still decodes', async () => {
  const root = await mintBootstrapToken(founder, 'vigo-web', NOW);
  const m = await mintChildToken(founder, [root], bob.publicKey, 'member', NOW, null);
  const inv: Invitation = {
    version: 1,
    project: { project_id: root.project_id, handle: 'vigo-web', founder: hex(founder), scope: 'swarm-wide' },
    chain: [root, m],
    delegations: [],
  };
  const text = formatInvitation(inv);
  assert.deepEqual(parseInvitation(text), inv);
  const shuffled = JSON.stringify({ delegations: [], chain: inv.chain, project: { ...inv.project }, version: 1 });
  assert.deepEqual(parseInvitation(shuffled), inv, 'key order and whitespace are free in an invitation');
  const r = verifyInvitation(parseInvitation(text), { presenter: bob.publicKey, now: NOW, revoked: new Map() });
  assert.equal(r.ok && r.role, 'member');
  assert.equal(code(() => parseInvitation(text.replace('"version": 1', '"version": 1, "version": 1'))), 'E_MALFORMED');
  const header = encodePushChainHeader([root, m], []);
  assert.match(header, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodePushChainHeader(header), { v: 1, kind: 'push-chain', chain: [root, m], delegations: [] });
  assert.deepEqual(decodePushChainHeader(canonicalize([root, m])).chain, [root, m]);
  assert.deepEqual(decodePushChainHeader(Buffer.from(JSON.stringify([root, m])).toString('base64url')).chain, [root, m]);
  const reordered = Buffer.from(JSON.stringify({ v: 1, kind: 'push-chain', chain: [root, m], delegations: [] })).toString('base64url');
  assert.equal(code(() => decodePushChainHeader(reordered)), 'E_NON_CANONICAL');
  assert.deepEqual(checkToken(JSON.parse(JSON.stringify(m))), m);
});

test('parseStrictJson: the JSON grammar, exactly', () => {
  const accepted: [string, unknown][] = [
    [' {"a" : [ true , false , null ] } ', { a: [true, false, null] }],
    ['-0.5e-3', -0.0005],
    ['"\\u00e9\\ud83d\\ude02\\/"', 'é😂/'],
    ['0', 0],
    ['[]', []],
  ];
  for (const [text, value] of accepted) assert.deepEqual(parseStrictJson(text), value, text);
  const refused = ['', ' ', '01', '1.', '.5', '+1', '1e', '0x10', 'NaN', 'Infinity', '1e400', '[1,]', '{"a":1,}', "{'a':1}", '{a:1}',
    '"\t"', '"\\x41"', '"\\ud800"', '"\\udc00x"', 'tru', 'nul', '[1 2]', '{"a" 1}', '"abc', '1 2', '\ufeff{}', '[', '{"a":1'];
  for (const text of refused) assert.equal(code(() => parseStrictJson(text, { what: 'sample.json' })), 'E_MALFORMED', JSON.stringify(text));
  assert.throws(() => parseStrictJson('{"a":1,"a":1}', { what: 'tokens.json' }), (e: unknown) => e instanceof TrustError && /tokens\.json: duplicate key "a"/.test(e.message));
  assert.equal(code(() => parseStrictJson('1.0', { canonicalLiterals: true })), 'E_NON_CANONICAL');
  assert.equal(code(() => parseStrictJson('"\\u001F"', { canonicalLiterals: true })), 'E_NON_CANONICAL');
  assert.equal(parseStrictJson('"\\u001f"', { canonicalLiterals: true }), '\u001f');
});

test('TrustError is a VigoError with a code, a message and, where there is something to do, a hint', async () => {
  const root = await mintBootstrapToken(founder, 'proj', NOW);
  const child = await mintChildToken(founder, [root], bob.publicKey, 'member', NOW, NOW + 86400);
  const r = verifyChain({ projectId: root.project_id, chain: [root, child], delegations: [], revoked: new Map(), now: NOW + 86400, presenter: bob.publicKey });
  assert.equal(!r.ok && r.code, 'E_EXPIRED');
  try {
    parseExpires('soon');
    assert.fail('parseExpires accepted "soon"');
  } catch (e) {
    assert.ok(e instanceof TrustError);
    assert.equal(e.code, 'E_BAD_EXPIRES');
    assert.match(e.hint ?? '', /--expires 30d/);
  }
});
