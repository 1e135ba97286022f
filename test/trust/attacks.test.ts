// Attacks on the trust core, each as a property over many generated cases (fast-check)
// or a concrete construction. Every attack must be refused with its rule's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  canonicalize,
  checkToken,
  DELEGATION_MAX_LEN,
  encodePushChainHeader,
  mintBootstrapToken,
  mintChildToken,
  mintDelegation,
  parseSignedJson,
  parseStrictJson,
  projectId,
  seedSigner,
  signingMessage,
  signRaw,
  toHex,
  tokenId,
  TrustError,
  verifyChain,
  verifyPushChainHeader,
  verifyRaw,
  type Delegation,
  type Role,
  type Signer,
  type Token,
  type VerifyInput,
} from '../../src/trust/index.js';
import { tokenCanonical } from '../../src/trust/token.js';

const T0 = 1_764_000_000;
const DAY = 86_400;
const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const handleArb = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}$/);
const signerOf = (n: number) => seedSigner(new Uint8Array(32).fill(n & 0xff).map((b, i) => (i === 0 ? b : (b * 31 + i) & 0xff)));

function codeOf(input: VerifyInput): string {
  const r = verifyChain(input);
  return r.ok ? 'OK' : r.code;
}

function thrownCode(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (e instanceof TrustError) return e.code;
    throw e;
  }
}

/** A chain of `roles.length` tokens below a founder root; signers[i] holds chain[i]. */
async function buildChain(handle: string, roles: Role[], now = T0) {
  const signers: Signer[] = [signerOf(1)];
  const chain: Token[] = [await mintBootstrapToken(signers[0]!, handle, now)];
  for (let i = 0; i < roles.length; i++) {
    const s = signerOf(i + 2);
    chain.push(await mintChildToken(signers[i]!, chain, s.publicKey, roles[i]!, now + i + 1, null));
    signers.push(s);
  }
  return { chain, signers, pid: chain[0]!.project_id };
}

function input(pid: string, chain: Token[], presenter: Uint8Array, more: Partial<VerifyInput> = {}): VerifyInput {
  return { projectId: pid, chain, delegations: [], revoked: new Map(), now: T0 + DAY, presenter, ...more };
}

function forge(seed: Uint8Array, body: Omit<Token, 'sig'>, kind = 'token'): Token {
  return { ...body, sig: toHex(signRaw(seed, signingMessage(kind, body))) };
}

/** Signs a token body with a Signer, bypassing the minting checks. */
async function signBy(signer: Signer, body: Omit<Token, 'sig'>): Promise<Token> {
  return { ...body, sig: toHex(await signer.sign(signingMessage('token', body))) };
}

test('attack: a chain spliced from another project never verifies', async () => {
  await fc.assert(
    fc.asyncProperty(seedArb, seedArb, handleArb, handleArb, async (s1, s2, h1, h2) => {
      fc.pre(projectId(seedSigner(s1).publicKey, h1) !== projectId(seedSigner(s2).publicKey, h2));
      const root1 = await mintBootstrapToken(seedSigner(s1), h1, T0);
      const root2 = await mintBootstrapToken(seedSigner(s2), h2, T0);
      const member = await mintChildToken(seedSigner(s2), [root2], signerOf(9).publicKey, 'member', T0, null);
      // whole chain of project 2 presented for project 1
      assert.equal(codeOf(input(root1.project_id, [root2, member], signerOf(9).publicKey)), 'E_WRONG_PROJECT');
      // project 2's link re-pointed at project 1's root and re-signed by its (project 2) issuer
      const { sig: _s, ...body } = member;
      const spliced = forge(s2, { ...body, parent: tokenId(root1) });
      const c = codeOf(input(root1.project_id, [root1, spliced], signerOf(9).publicKey));
      assert.ok(c === 'E_WRONG_PROJECT' || c === 'E_ISSUER_NOT_PARENT_SUBJECT', c);
    }),
    { numRuns: 40 },
  );
});

test('attack: a signature made under one kind’s domain tag never verifies as another kind', () => {
  const kinds = ['token', 'delegation', 'revoke', 'leave', 'name-claim', 'push-chain', 'invitation'];
  const bodyArb = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string({ maxLength: 16 }), fc.constant(null)), { maxKeys: 5 });
  fc.assert(
    fc.property(seedArb, bodyArb, fc.constantFrom(...kinds), fc.constantFrom(...kinds), (seed, body, k1, k2) => {
      fc.pre(k1 !== k2 && !('sig' in body));
      const signer = seedSigner(seed);
      const sig = signRaw(seed, signingMessage(k1, body));
      assert.equal(verifyRaw(signer.publicKey, signingMessage(k1, body), sig), true);
      assert.equal(verifyRaw(signer.publicKey, signingMessage(k2, body), sig), false);
      assert.equal(verifyRaw(signer.publicKey, Buffer.from(canonicalize(body)), sig), false);
    }),
    { numRuns: 60 },
  );
});

test('attack: a member minting is refused — member children are E_NOT_ADMIN_MINT, admin children E_ROLE_ESCALATION', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom<Role>('admin', 'member'), { minLength: 1, maxLength: 4 }), fc.constantFrom<Role>('admin', 'member'), async (roles, childRole) => {
      fc.pre(roles.includes('member'));
      // build the valid prefix up to and including the first member, then let the member mint
      const firstMember = roles.indexOf('member');
      const { chain, signers, pid } = await buildChain('team', roles.slice(0, firstMember + 1));
      const minter = signers[signers.length - 1]!;
      await assert.rejects(mintChildToken(minter, chain, signerOf(50).publicKey, childRole, T0 + 10, null), { code: 'E_NOT_ADMIN_MINT' });
      const leaf = chain[chain.length - 1]!;
      const { sig: _s, ...leafBody } = leaf;
      const signed = await signBy(minter, { ...leafBody, parent: tokenId(leaf), issuer: toHex(minter.publicKey), subject: toHex(signerOf(50).publicKey), role: childRole, nonce: 'ab'.repeat(16) });
      assert.equal(codeOf(input(pid, [...chain, signed], signerOf(50).publicKey)), childRole === 'admin' ? 'E_ROLE_ESCALATION' : 'E_NOT_ADMIN_MINT');
    }),
    { numRuns: 25 },
  );
});

test('attack: a child outliving its parent is refused; up to the parent’s expiry it verifies', async () => {
  const founder = signerOf(1);
  const admin = signerOf(2);
  const member = signerOf(3);
  const root = await mintBootstrapToken(founder, 'team', T0);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 2, max: 100 }), fc.option(fc.integer({ min: 1, max: 200 }), { nil: null }), async (parentDays, childDays) => {
      const parentExp = T0 + parentDays * DAY;
      const a = await mintChildToken(founder, [root], admin.publicKey, 'admin', T0, parentExp);
      const childExp = childDays === null ? null : T0 + childDays * DAY;
      const outlives = childExp === null || childExp > parentExp;
      if (outlives) await assert.rejects(mintChildToken(admin, [root, a], member.publicKey, 'member', T0, childExp), { code: 'E_OUTLIVES_PARENT' });
      const { sig: _s, ...body } = a;
      const signed = await signBy(admin, { ...body, parent: tokenId(a), issuer: toHex(admin.publicKey), subject: toHex(member.publicKey), role: 'member', expires_at: childExp });
      assert.equal(codeOf(input(root.project_id, [root, a, signed], member.publicKey, { now: T0 + 1 })), outlives ? 'E_OUTLIVES_PARENT' : 'OK');
    }),
    { numRuns: 40 },
  );
});

test('attack: the deposed founder cannot mint a root after its window; the new founder cannot before its own', async () => {
  const f1 = signerOf(1);
  const f2 = signerOf(2);
  const root = await mintBootstrapToken(f1, 'team', T0);
  const pid = root.project_id;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 10 * DAY }), fc.integer({ min: 0, max: 20 * DAY }), async (rekeyAfter, rootAt) => {
      const d = await mintDelegation(f1, pid, [], f2.publicKey, T0 + rekeyAfter);
      const at = T0 + rootAt;
      const now = T0 + 30 * DAY;
      const oldRoot = await mintBootstrapToken(f1, 'team', at);
      assert.equal(codeOf(input(pid, [oldRoot, await mintChildToken(f1, [oldRoot], signerOf(7).publicKey, 'member', at, null)], signerOf(7).publicKey, { delegations: [d], now })),
        at <= T0 + rekeyAfter ? 'OK' : 'E_DELEGATION_WINDOW');
      const newRoot = await mintBootstrapToken(f2, 'team', at, { projectId: pid });
      assert.equal(codeOf(input(pid, [newRoot], f2.publicKey, { delegations: [d], now })), at >= T0 + rekeyAfter ? 'OK' : 'E_DELEGATION_WINDOW');
    }),
    { numRuns: 40 },
  );
});

test('attack: a sixth delegation is refused at mint and at verification', async () => {
  const founders = Array.from({ length: DELEGATION_MAX_LEN + 2 }, (_, i) => signerOf(i + 1));
  const root = await mintBootstrapToken(founders[0]!, 'team', T0);
  const pid = root.project_id;
  const list: Delegation[] = [];
  for (let i = 0; i < DELEGATION_MAX_LEN; i++) list.push(await mintDelegation(founders[i]!, pid, list, founders[i + 1]!.publicKey, T0 + i + 1));
  assert.equal(codeOf(input(pid, [root], founders[0]!.publicKey, { delegations: list, now: T0 })), 'OK');
  await assert.rejects(mintDelegation(founders[5]!, pid, list, founders[6]!.publicKey, T0 + 10), { code: 'E_DELEGATION_CAP' });
  const body = { v: 1 as const, kind: 'delegation' as const, project_id: pid, seq: 6, prev_founder: toHex(founders[5]!.publicKey), new_founder: toHex(founders[6]!.publicKey), issued_at: T0 + 10 };
  const sixth = { ...body, sig: toHex(await founders[5]!.sign(signingMessage('delegation', body))) };
  assert.equal(codeOf(input(pid, [root], founders[0]!.publicKey, { delegations: [...list, sixth], now: T0 })), 'E_DELEGATION_CAP');
});

test('attack: a revoked token anywhere in the chain refuses the whole chain', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 5 }), fc.nat(), async (depth, pick) => {
      const roles: Role[] = [...Array<Role>(depth - 1).fill('admin'), 'member'];
      const { chain, signers, pid } = await buildChain('team', roles);
      const leafSigner = signers[signers.length - 1]!.publicKey;
      assert.equal(codeOf(input(pid, chain, leafSigner)), 'OK');
      const revokedIndex = pick % chain.length;
      assert.equal(codeOf(input(pid, chain, leafSigner, { revoked: new Map([[tokenId(chain[revokedIndex]!), 'gone']]) })), 'E_REVOKED');
    }),
    { numRuns: 20 },
  );
});

test('attack: a leaf naming another subject than the presenter is refused', async () => {
  const { chain, pid } = await buildChain('team', ['admin', 'member']);
  fc.assert(
    fc.property(seedArb, (seed) => {
      const presenter = seedSigner(seed).publicKey;
      fc.pre(toHex(presenter) !== chain[2]!.subject);
      assert.equal(codeOf(input(pid, chain, presenter)), 'E_PRESENTER_MISMATCH');
    }),
    { numRuns: 30 },
  );
});

test('attack: tampering with any field of any token breaks the chain', async () => {
  const { chain, signers, pid } = await buildChain('team', ['admin', 'admin', 'member']);
  const leafPk = signers[3]!.publicKey;
  const fields = ['handle', 'parent', 'issuer', 'subject', 'role', 'issued_at', 'expires_at', 'nonce', 'sig', 'project_id'] as const;
  fc.assert(
    fc.property(fc.nat({ max: 3 }), fc.constantFrom(...fields), fc.nat(), (i, field, noise) => {
      const t = { ...chain[i]! } as Record<string, unknown>;
      const old = t[field];
      t[field] =
        typeof old === 'number' ? old + 1 + (noise % 1000)
        : old === null ? (field === 'expires_at' ? T0 + 2 * DAY : 'ab'.repeat(32))
        : field === 'role' ? (old === 'admin' ? 'member' : 'admin')
        : field === 'handle' ? `${String(old)}x`
        : String(old).slice(0, -1) + (String(old).endsWith('0') ? '1' : '0');
      const forged = chain.map((c, j) => (j === i ? (t as unknown as Token) : c));
      assert.notEqual(codeOf(input(pid, forged, leafPk)), 'OK', `${field} of chain[${i}]`);
    }),
    { numRuns: 120 },
  );
});

test('attack: non-canonical JSON presented as signed — other key order, whitespace, number forms, duplicate keys', async () => {
  const { chain } = await buildChain('team', ['admin']);
  const token = chain[1]!;
  const text = canonicalize(token);
  assert.deepEqual(parseSignedJson(text, 'token'), token);
  const keys = Object.keys(token);
  fc.assert(
    fc.property(fc.shuffledSubarray(keys, { minLength: keys.length, maxLength: keys.length }), (order) => {
      const reordered = `{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify((token as unknown as Record<string, unknown>)[k])}`).join(',')}}`;
      assert.equal(thrownCode(() => parseSignedJson(reordered, 'token')), reordered === text ? 'OK' : 'E_NON_CANONICAL');
    }),
    { numRuns: 50 },
  );
  const n = String(token.issued_at);
  for (const form of [`${n}.0`, `${n}.00`, `${n[0]}.${n.slice(1)}e${n.length - 1}`, `${n}e0`, `${n}E+0`]) {
    assert.equal(thrownCode(() => parseSignedJson(text.replace(`"issued_at":${n}`, `"issued_at":${form}`), 'token')), 'E_NON_CANONICAL', form);
  }
  for (const ws of [' ', '\n', '\t', '\r\n']) {
    assert.equal(thrownCode(() => parseSignedJson(text.replace(',', `,${ws}`), 'token')), 'E_NON_CANONICAL', JSON.stringify(ws));
    assert.equal(thrownCode(() => parseSignedJson(`${text}${ws}`, 'token')), 'E_NON_CANONICAL', JSON.stringify(ws));
  }
  fc.assert(
    fc.property(fc.constantFrom(...keys), (k) => {
      const dup = text.replace('{', `{${JSON.stringify(k)}:null,`);
      assert.equal(thrownCode(() => parseSignedJson(dup, 'token')), 'E_MALFORMED');
      assert.equal(thrownCode(() => parseStrictJson(dup)), 'E_MALFORMED');
    }),
  );
});

test('strict parsing agrees with JSON.parse on valid JSON, and JCS is a fixpoint', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v);
      const parsed = parseStrictJson(text, { maxDepth: 512, maxBytes: 1 << 24 });
      assert.deepEqual(parsed, JSON.parse(text));
      const c = canonicalize(parsed);
      assert.equal(canonicalize(parseSignedJson(c, 'value', 1 << 24) as unknown), c);
    }),
    { numRuns: 300 },
  );
});

test('the token fast path writes exactly the RFC 8785 bytes', () => {
  const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
  fc.assert(
    fc.property(hex64, handleArb, fc.option(hex64, { nil: null }), hex64, hex64, fc.constantFrom<Role>('admin', 'member'), fc.nat(), fc.option(fc.nat(), { nil: null }), fc.stringMatching(/^[0-9a-f]{32}$/),
      (project_id, handle, parent, issuer, subject, role, issued_at, expires_at, nonce) => {
        const body = { v: 1 as const, kind: 'token' as const, project_id, handle, parent, issuer, subject, role, issued_at, expires_at, nonce };
        checkToken({ ...body, sig: '0'.repeat(128) });
        assert.equal(tokenCanonical(body), canonicalize(body));
      }),
    { numRuns: 300 },
  );
});

test('attack: oversized and deeply nested input is refused before it is walked', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), (depth) => {
      const text = '['.repeat(depth) + ']'.repeat(depth);
      assert.equal(thrownCode(() => parseStrictJson(text)), depth <= 32 ? 'OK' : 'E_OVERSIZE');
    }),
  );
  assert.equal(thrownCode(() => parseStrictJson('{"a":'.repeat(1_000_000))), 'E_OVERSIZE');
  assert.equal(thrownCode(() => parseStrictJson(`"${'x'.repeat(1 << 20)}"`)), 'E_OVERSIZE');
  assert.equal(thrownCode(() => parseStrictJson(new Uint8Array((1 << 20) + 1))), 'E_OVERSIZE');
});

// L, the order of the Ed25519 base point.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function withS(sig: Uint8Array, s: bigint): Uint8Array {
  const out = new Uint8Array(sig);
  for (let i = 0; i < 32; i++) {
    out[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}
function sOf(sig: Uint8Array): bigint {
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
  return s;
}

test('attack: Ed25519 signatures with a non-canonical S (S + kL) or a bad length are rejected', () => {
  fc.assert(
    fc.property(seedArb, fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 15 }), (seed, msg, k) => {
      const pk = seedSigner(seed).publicKey;
      const sig = signRaw(seed, msg);
      assert.equal(verifyRaw(pk, msg, sig), true);
      assert.equal(verifyRaw(pk, msg, withS(sig, sOf(sig) + BigInt(k) * L)), false);
      assert.equal(verifyRaw(pk, msg, sig.subarray(0, 63)), false);
      assert.equal(verifyRaw(pk, msg, Buffer.concat([sig, new Uint8Array(1)])), false);
      assert.equal(verifyRaw(pk.subarray(0, 31), msg, sig), false);
    }),
    { numRuns: 40 },
  );
  const seed = new Uint8Array(32).fill(7);
  const sig = signRaw(seed, new Uint8Array(0));
  assert.equal(verifyRaw(seedSigner(seed).publicKey, new Uint8Array(0), withS(sig, L)), false);
});

test('attack: any one-character change to an X-Vigo-Chain header is refused', async () => {
  const { chain, signers, pid } = await buildChain('team', ['admin', 'member']);
  const header = encodePushChainHeader(chain, []);
  const presenter = signers[2]!.publicKey;
  const opts = { projectId: pid, revoked: new Map<string, string | null>(), now: T0 + DAY, presenter };
  assert.equal(verifyPushChainHeader(header, opts).ok, true);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ';
  fc.assert(
    fc.property(fc.nat({ max: header.length - 1 }), fc.constantFrom(...alphabet), (at, ch) => {
      fc.pre(header[at] !== ch);
      const mutated = header.slice(0, at) + ch + header.slice(at + 1);
      assert.equal(verifyPushChainHeader(mutated, opts).ok, false);
    }),
    { numRuns: 300 },
  );
});

test('the verifier never throws, whatever it is given', () => {
  fc.assert(
    fc.property(fc.anything(), fc.anything(), fc.anything(), fc.anything(), (chain, delegations, presenter, projectId) => {
      const r = verifyChain({ projectId, chain, delegations, presenter, revoked: new Map(), now: T0 } as unknown as VerifyInput);
      assert.equal(r.ok, false);
      assert.ok(typeof r.message === 'string' && r.message.length > 0);
    }),
    { numRuns: 300 },
  );
});
