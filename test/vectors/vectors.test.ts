// The conformance vectors: the checked-in JSON is the specification of the formats and of
// the verifier's rules. A change to canonical bytes, ids, signatures or to any rule's
// outcome fails here. (Regenerate only after a deliberate format change; see generate.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  canonicalize,
  decodePushChainHeader,
  delegationId,
  domainTag,
  encodePushChainHeader,
  envelopeId,
  formatInvitation,
  fromHex,
  parseInvitation,
  projectId,
  publicKeyFromSeed,
  sha256Hex,
  signingMessage,
  signRaw,
  toHex,
  tokenId,
  TRUST_ERROR_CODES,
  verifyRaw,
  VerifyCache,
  type Delegation,
  type LeaveEnvelope,
  type RevokeEnvelope,
  type Token,
} from '../../src/trust/index.js';
import { runFixture, type Fixture } from './run.js';
import { vectorDir } from './generate.js';

const load = <T>(name: string): T => JSON.parse(readFileSync(join(vectorDir(), name), 'utf8')) as T;
const keys = load<Record<string, { seed: string; public_key: string }>>('keys.json');
interface SignedVector { name: string; kind: string; signer: string; object: Record<string, unknown> & { sig: string }; canonical: string; signing_message_hex: string; id: string; sig: string }
const objects = load<{
  handle: string;
  project_id: { founder: string; handle: string; preimage_hex: string; project_id: string };
  domain_tags: Record<string, string>;
  signed: SignedVector[];
  chain: { tokens: Token[]; json: string };
  invitation: { text: string };
  push_chain: { chain: Token[]; delegations: Delegation[]; canonical: string; header: string };
}>('objects.json');
const valid = load<Fixture[]>('verify-valid.json');
const invalid = load<Fixture[]>('verify-invalid.json');

test('vector keys: every seed derives its public key', () => {
  assert.ok(Object.keys(keys).length >= 10);
  for (const [name, k] of Object.entries(keys)) assert.equal(toHex(publicKeyFromSeed(fromHex(k.seed))), k.public_key, name);
});

test('project id = sha256(founder pubkey ‖ handle)', () => {
  const p = objects.project_id;
  assert.equal(p.preimage_hex, p.founder + Buffer.from(p.handle, 'utf8').toString('hex'));
  assert.equal(sha256Hex(fromHex(p.preimage_hex)), p.project_id);
  assert.equal(projectId(fromHex(p.founder), p.handle), p.project_id);
});

test('domain tags are vigo/<kind>/v1 followed by NUL', () => {
  for (const [kind, hex] of Object.entries(objects.domain_tags)) assert.equal(Buffer.from(domainTag(kind), 'utf8').toString('hex'), hex, kind);
});

for (const v of objects.signed) {
  test(`signed object byte for byte: ${v.name}`, () => {
    const { sig, ...body } = v.object;
    assert.equal(sig, v.sig);
    assert.equal(canonicalize(body), v.canonical, 'canonical bytes');
    assert.equal(v.signing_message_hex, objects.domain_tags[v.kind]! + Buffer.from(v.canonical, 'utf8').toString('hex'));
    assert.equal(toHex(signingMessage(v.kind, v.object)), v.signing_message_hex, 'signing message');
    assert.equal(sha256Hex(v.canonical), v.id, 'id');
    const id =
      v.kind === 'token' ? tokenId(v.object as unknown as Token)
      : v.kind === 'delegation' ? delegationId(v.object as unknown as Delegation)
      : envelopeId(v.object as unknown as RevokeEnvelope | LeaveEnvelope);
    assert.equal(id, v.id, 'id through the API');
    const seed = fromHex(keys[v.signer]!.seed);
    // Ed25519 is deterministic: re-signing the message with the signer's seed gives the same bytes.
    assert.equal(toHex(signRaw(seed, fromHex(v.signing_message_hex))), v.sig, 'signature');
    assert.equal(verifyRaw(fromHex(keys[v.signer]!.public_key), fromHex(v.signing_message_hex), fromHex(v.sig)), true);
  });
}

test('a chain is the JSON array of its tokens, root first', () => {
  assert.equal(canonicalize(objects.chain.tokens), objects.chain.json);
  assert.equal(objects.chain.tokens[0]!.parent, null);
  assert.equal(objects.chain.tokens[1]!.parent, tokenId(objects.chain.tokens[0]!));
});

test('the invitation text round-trips byte for byte', () => {
  assert.equal(formatInvitation(parseInvitation(objects.invitation.text)), objects.invitation.text);
});

test('X-Vigo-Chain is base64url of the canonical PushChain', () => {
  const pc = objects.push_chain;
  assert.equal(encodePushChainHeader(pc.chain, pc.delegations), pc.header);
  assert.equal(Buffer.from(pc.header, 'base64url').toString('utf8'), pc.canonical);
  assert.deepEqual(decodePushChainHeader(pc.header), { v: 1, kind: 'push-chain', chain: pc.chain, delegations: pc.delegations });
});

for (const f of valid) {
  test(`valid fixture ${f.name}: ${f.description}`, () => {
    assert.equal(f.expect.ok, true);
    assert.deepEqual(runFixture(f), f.expect);
  });
}

for (const f of invalid) {
  test(`${String(f.expect.code)} fixture ${f.name}: ${f.description}`, () => {
    assert.deepEqual(runFixture(f), f.expect);
  });
}

test('a shared VerifyCache changes no outcome: every fixture, run twice after all valid ones warmed it', () => {
  const cache = new VerifyCache();
  for (const f of valid) assert.deepEqual(runFixture(f, cache), f.expect, f.name);
  for (const round of [1, 2]) {
    for (const f of [...invalid, ...valid]) assert.deepEqual(runFixture(f, cache), f.expect, `${f.name} (round ${round})`);
  }
  assert.ok(cache.size > 10);
});

test('every verifier error code is reached by at least one fixture, and no fixture uses another code', () => {
  const reached = new Set(invalid.map((f) => f.expect.code as string));
  for (const c of TRUST_ERROR_CODES) assert.ok(reached.has(c), `no fixture reaches ${c}`);
  for (const c of reached) assert.ok((TRUST_ERROR_CODES as readonly string[]).includes(c), `${c} is not a verifier code`);
  assert.equal(new Set([...valid, ...invalid].map((f) => f.name)).size, valid.length + invalid.length, 'fixture names are unique');
});
