// Generates the conformance vectors in test/vectors/*.json from fixed seeds, fixed nonces
// and fixed times. Run `npm run build && node dist/test/vectors/generate.js` after a
// deliberate format change, review the diff, and update docs/wire-formats.md to match.
// The tests never run this: they check the library against the checked-in JSON.
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import {
  canonicalize,
  DELEGATION_MAX_LEN,
  encodePushChainHeader,
  envelopeId,
  formatInvitation,
  mintBootstrapToken,
  mintChildToken,
  mintDelegation,
  mintLeave,
  mintNameClaim,
  mintRevoke,
  projectId,
  publicKeyFromSeed,
  seedSigner,
  sha256Hex,
  signingMessage,
  signRaw,
  toHex,
  tokenId,
  delegationId,
  type Delegation,
  type Signer,
  type Token,
} from '../../src/trust/index.js';
import { runFixture, type Fixture, type ChainInput, type Repeated } from './run.js';

export const HANDLE = 'vigo-web';
export const T0 = 1_764_000_000; // 2025-11-24T16:00:00Z
export const NOW = T0 + 86_400;
const DAY = 86_400;

const KEY_NAMES = ['founder', 'alice', 'bob', 'carol', 'mallory', 'founder2', 'founder3', 'founder4', 'founder5', 'founder6', 'founder7', 'other'] as const;
type KeyName = (typeof KEY_NAMES)[number] | `hop${number}`;

export function seedOf(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`vigo-vectors/${name}`).digest());
}
const signers = new Map<string, Signer>();
function k(name: KeyName): Signer {
  let s = signers.get(name);
  if (s === undefined) signers.set(name, (s = seedSigner(seedOf(name))));
  return s;
}
const pk = (name: KeyName) => toHex(k(name).publicKey);
const nonce = (label: string) => createHash('sha256').update(`nonce/${label}`).digest('hex').slice(0, 32);

type Body = Omit<Token, 'sig'>;
/** Signs any token body, bypassing the minting checks (for fixtures that break rules). */
function forge(signer: KeyName, body: Body, kind = 'token'): Token {
  return { ...body, sig: toHex(signRaw(seedOf(signer), signingMessage(kind, body))) };
}
function forgeDelegation(signer: KeyName, body: Omit<Delegation, 'sig'>): Delegation {
  return { ...body, sig: toHex(signRaw(seedOf(signer), signingMessage('delegation', body))) };
}
function forgeEnvelope<T extends object>(signer: KeyName, kind: string, body: T): T & { sig: string } {
  return { ...body, sig: toHex(signRaw(seedOf(signer), signingMessage(kind, body))) };
}
function unsigned<T extends { sig: string }>(o: T): Omit<T, 'sig'> {
  const { sig: _s, ...rest } = o;
  return rest;
}
function resign(signer: KeyName, t: Token, change: Partial<Token>): Token {
  return forge(signer, { ...unsigned(t), ...change });
}

// Ed25519 group order, for the malleated-signature fixtures.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function malleate(sigHex: string): string {
  const sig = Buffer.from(sigHex, 'hex');
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
  s += L;
  for (let i = 0; i < 32; i++) {
    sig[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return sig.toString('hex');
}

export async function buildVectors(): Promise<{ keys: object; objects: object; valid: Fixture[]; invalid: Fixture[] }> {
  const pid = projectId(k('founder').publicKey, HANDLE);
  const otherPid = projectId(k('other').publicKey, HANDLE);

  // --- the project's tokens -------------------------------------------------------------
  const root = await mintBootstrapToken(k('founder'), HANDLE, T0, { nonce: nonce('root') });
  const tA = await mintChildToken(k('founder'), [root], k('alice').publicKey, 'admin', T0 + 60, null, { nonce: nonce('alice') });
  const tB = await mintChildToken(k('alice'), [root, tA], k('bob').publicKey, 'member', T0 + 120, T0 + 30 * DAY, { nonce: nonce('bob') });
  const d1 = await mintDelegation(k('founder'), pid, [], k('founder2').publicKey, T0 + 3600);
  const d2 = await mintDelegation(k('founder2'), pid, [d1], k('founder3').publicKey, T0 + 7200);
  const bridge = await mintChildToken(k('founder'), [root], k('founder2').publicKey, 'admin', T0 + 3600, null, { nonce: nonce('bridge') });
  const root2 = await mintBootstrapToken(k('founder2'), HANDLE, T0 + 3610, { nonce: nonce('root2'), projectId: pid });
  const tC = await mintChildToken(k('founder2'), [root2], k('carol').publicKey, 'member', T0 + 3700, null, { nonce: nonce('carol') });
  const fullDelegations: Delegation[] = [];
  const founders: KeyName[] = ['founder', 'founder2', 'founder3', 'founder4', 'founder5', 'founder6', 'founder7'];
  for (let i = 0; i < DELEGATION_MAX_LEN; i++) {
    fullDelegations.push(await mintDelegation(k(founders[i]!), pid, fullDelegations, k(founders[i + 1]!).publicKey, T0 + 3600 * (i + 1)));
  }
  const sixth = forgeDelegation('founder6', { v: 1, kind: 'delegation', project_id: pid, seq: 6, prev_founder: pk('founder6'), new_founder: pk('founder7'), issued_at: T0 + 3600 * 6 });
  const seventh = forgeDelegation('founder7', { v: 1, kind: 'delegation', project_id: pid, seq: 7, prev_founder: pk('founder7'), new_founder: pk('mallory'), issued_at: T0 + 3600 * 7 });

  // another project with the same handle, for splicing
  const rootO = await mintBootstrapToken(k('other'), HANDLE, T0, { nonce: nonce('other-root') });
  const tO = await mintChildToken(k('other'), [rootO], k('alice').publicKey, 'admin', T0 + 60, null, { nonce: nonce('other-alice') });

  // --- envelopes, claims, invitation, header ---------------------------------------------
  const revoke = await mintRevoke(k('alice'), [root, tA], [], tokenId(tB), 'laptop lost', T0 + 600);
  const leave = await mintLeave(k('bob'), [root, tA, tB], [], T0 + 700);
  const claim = await mintNameClaim(k('alice'), 'alice', T0);
  const invitation = formatInvitation({
    version: 1,
    project: { project_id: pid, handle: HANDLE, founder: pk('founder'), scope: 'swarm-wide' },
    chain: [root, tA, tB],
    delegations: [],
  });
  const header = encodePushChainHeader([root, tA, tB], [d1]);

  const keys = Object.fromEntries(
    [...KEY_NAMES].map((n) => [n, { seed: toHex(seedOf(n)), public_key: toHex(publicKeyFromSeed(seedOf(n))) }]),
  );

  const signed = (name: string, kind: string, signer: KeyName, o: { sig: string }, id: string) => {
    const body = unsigned(o);
    return {
      name,
      kind,
      signer,
      object: o,
      canonical: canonicalize(body),
      signing_message_hex: toHex(signingMessage(kind, body)),
      id,
      sig: o.sig,
    };
  };
  const objects = {
    handle: HANDLE,
    project_id: { founder: pk('founder'), handle: HANDLE, preimage_hex: toHex(k('founder').publicKey) + Buffer.from(HANDLE).toString('hex'), project_id: pid },
    domain_tags: Object.fromEntries(['token', 'delegation', 'revoke', 'leave', 'name-claim'].map((kd) => [kd, Buffer.from(`vigo/${kd}/v1\u0000`).toString('hex')])),
    signed: [
      signed('bootstrap token (founder)', 'token', 'founder', root, tokenId(root)),
      signed('admin token (founder → alice)', 'token', 'founder', tA, tokenId(tA)),
      signed('member token (alice → bob, expires in 30 days)', 'token', 'alice', tB, tokenId(tB)),
      signed('delegation 1 (founder → founder2)', 'delegation', 'founder', d1, delegationId(d1)),
      signed('delegation 2 (founder2 → founder3)', 'delegation', 'founder2', d2, delegationId(d2)),
      signed('root minted by the delegated founder2', 'token', 'founder2', root2, tokenId(root2)),
      signed('revoke of bob’s token by alice', 'revoke', 'alice', revoke, envelopeId(revoke)),
      signed('leave by bob', 'leave', 'bob', leave, envelopeId(leave)),
      signed('name claim "alice"', 'name-claim', 'alice', claim, envelopeId(claim)),
    ],
    chain: { tokens: [root, tA, tB], json: canonicalize([root, tA, tB]) },
    invitation: { text: invitation },
    push_chain: { chain: [root, tA, tB], delegations: [d1], canonical: canonicalize({ v: 1, kind: 'push-chain', chain: [root, tA, tB], delegations: [d1] }), header },
  };

  // --- fixtures --------------------------------------------------------------------------
  const base = (chain: unknown, presenter: KeyName, more: Partial<ChainInput> = {}): ChainInput => ({
    project_id: pid,
    chain,
    delegations: [],
    revoked: [],
    now: NOW,
    presenter: pk(presenter),
    ...more,
  });
  const valid: Fixture[] = [];
  const invalid: Fixture[] = [];
  const ok = (name: string, description: string, input: ChainInput | Record<string, unknown>, op: Fixture['op'] = 'verifyChain') =>
    valid.push({ name, op, description, input: input as Record<string, unknown>, expect: {} });
  const bad = (code: string, name: string, description: string, input: ChainInput | Record<string, unknown>, op: Fixture['op'] = 'verifyChain') =>
    invalid.push({ name, op, description, input: input as Record<string, unknown>, expect: { ok: false, code } });

  ok('founder-bootstrap', 'the founder presents its bootstrap token', base([root], 'founder'));
  ok('admin-depth-2', 'an admin invited by the founder', base([root, tA], 'alice'));
  ok('member-depth-3', 'a member invited by an admin, before its expiry', base([root, tA, tB], 'bob'));
  ok('member-one-second-before-expiry', 'expiry is exclusive: valid until the second before expires_at', base([root, tA, tB], 'bob', { now: T0 + 30 * DAY - 1 }));
  ok('issued-within-clock-skew', 'a token dated up to 300 s in the future is accepted (clock skew)', base([root, tA], 'alice', { now: T0 + 60 - 300 }));
  ok('rekey-bridge', 'after a rekey: the old founder’s bridge token for the new founder, minted in the same second as the delegation', base([root, bridge], 'founder2', { delegations: [d1] }));
  ok('rekey-new-root', 'after a rekey: a root minted by the new founder under the genesis project id', base([root2, tC], 'carol', { delegations: [d1] }));
  ok('old-chain-after-two-rekeys', 'tokens issued before two rekeys stay valid (anchor-preserving)', base([root, tA, tB], 'bob', { delegations: [d1, d2] }));
  ok('presenter-knows-newer-delegation', 'the presenter carries delegations 1 and 2; the verifier has only seen 1', base([root, tA, tB], 'bob', { delegations: [d1, d2], known_delegations: [d1] }));
  ok('verifier-knows-newer-delegation', 'an older presenter carries no delegations; the verifier’s own list applies', base([root, tA, tB], 'bob', { known_delegations: [d1, d2] }));
  ok('at-delegation-cap', 'five delegations (the cap) are accepted', base([root, tA], 'alice', { delegations: fullDelegations }));
  ok('header-push-chain', 'X-Vigo-Chain: base64url canonical PushChain', { ...base(null, 'bob'), header, chain: undefined, delegations: undefined }, 'verifyPushChainHeader');
  ok('header-bare-chain', 'X-Vigo-Chain from an older sender: a bare token-chain JSON array', { ...base(null, 'bob'), header: canonicalize([root, tA, tB]), chain: undefined, delegations: undefined }, 'verifyPushChainHeader');
  ok('header-bare-chain-base64url', 'an older sender’s bare chain, base64url-encoded', { header: Buffer.from(JSON.stringify([root, tA, tB])).toString('base64url') }, 'decodePushChainHeader');
  ok('revoke', 'alice (admin) revokes bob’s token', { envelope: revoke, project_id: pid, now: NOW }, 'verifyRevoke');
  ok('leave', 'bob leaves, carrying his chain: it gives up his own token (the leaf)', { envelope: leave, project_id: pid, now: NOW }, 'verifyLeave');
  ok('name-claim', 'alice claims the name "alice"', { claim }, 'verifyNameClaim');
  ok('invitation', 'the invitation `project invite` prints', { text: invitation }, 'parseInvitation');
  ok('signed-token-text', 'a token as canonical JSON text', { text: canonicalize(tA) }, 'parseSignedJson');

  // E_MALFORMED
  bad('E_MALFORMED', 'token-extra-field', 'a signed token with a field the format does not define', base([{ ...root, admin: true }], 'founder'));
  bad('E_MALFORMED', 'token-missing-sig', 'a token without its signature', base([unsigned(root)], 'founder'));
  bad('E_MALFORMED', 'token-uppercase-hex', 'hex must be lowercase (one spelling per key)', base([root, forge('founder', { ...unsigned(tA), subject: pk('alice').toUpperCase() })], 'alice'));
  bad('E_MALFORMED', 'token-fractional-time', 'times are integer seconds', base([root, resign('founder', tA, { issued_at: T0 + 60.5 })], 'alice'));
  bad('E_MALFORMED', 'token-unknown-role', 'roles are admin or member', base([root, forge('founder', { ...unsigned(tA), role: 'owner' as 'admin' })], 'alice'));
  bad('E_MALFORMED', 'token-version-2', 'only version 1 exists', base([{ ...root, v: 2 }], 'founder'));
  bad('E_MALFORMED', 'chain-not-array', 'the chain is a JSON array', base({ 0: root }, 'founder'));
  bad('E_MALFORMED', 'delegation-extra-field', 'a delegation with an undefined field', base([root, tA], 'alice', { delegations: [{ ...d1, note: 'x' }] }));
  bad('E_MALFORMED', 'presenter-not-a-key', 'the presenter must be a public key', { ...base([root], 'founder'), presenter: 'root' });
  bad('E_MALFORMED', 'duplicate-key-signed-text', 'duplicate keys in a signed object: two parsers could read two different tokens', { text: canonicalize(tA).replace('"role":"admin"', '"role":"admin","role":"member"') }, 'parseSignedJson');
  bad('E_MALFORMED', 'invalid-utf8', 'signed text that is not UTF-8', { bytes_hex: Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]).toString('hex') }, 'parseSignedJson');
  bad('E_MALFORMED', 'invitation-duplicate-key', 'an invitation with a duplicated key', { text: invitation.replace('"version": 1,', '"version": 1,\n  "version": 1,') }, 'parseInvitation');
  bad('E_MALFORMED', 'invitation-founder-mismatch', 'project.project_id is not sha256(founder ‖ handle)', { text: invitation.replace(pk('founder'), pk('mallory')) }, 'parseInvitation');
  bad('E_MALFORMED', 'header-padded-base64', 'X-Vigo-Chain is unpadded base64url', { header: `${Buffer.from('[]').toString('base64')}=` }, 'decodePushChainHeader');
  bad('E_MALFORMED', 'revoke-missing-field', 'a revoke without its reason field', { envelope: unsigned({ ...revoke, sig: '' }), project_id: pid, now: NOW }, 'verifyRevoke');
  bad('E_MALFORMED', 'name-claim-bad-name', 'a claim of a name that breaks the name rules', { claim: forgeEnvelope('alice', 'name-claim', { ...unsigned(claim), name: '.hidden' }) }, 'verifyNameClaim');

  // E_OVERSIZE
  const deep = '['.repeat(40) + ']'.repeat(40);
  const rep = (prefix: string, repeat: string, times: number, suffix: string): Repeated => ({ prefix, repeat, times, suffix });
  bad('E_OVERSIZE', 'deeply-nested', 'JSON nested 40 levels deep (limit 32)', { text: deep }, 'parseStrictJson');
  bad('E_OVERSIZE', 'deeply-nested-100k', 'JSON nested 100,000 levels deep: refused without exhausting the stack', { text: rep('', '[', 100_000, '') }, 'parseStrictJson');
  bad('E_OVERSIZE', 'signed-text-too-large', 'a signed object larger than 256 KiB', { text: rep('{"a":"', 'x', 256 * 1024, '"}') }, 'parseSignedJson');
  bad('E_OVERSIZE', 'header-too-large', 'an X-Vigo-Chain value over 64 KiB', { header: rep('', 'A', 64 * 1024 + 4, '') }, 'decodePushChainHeader');
  bad('E_OVERSIZE', 'invitation-deeply-nested', 'an invitation with a deeply nested extra value', { text: `{"x":${deep}}` }, 'parseInvitation');
  bad('E_OVERSIZE', 'invitation-too-large', 'an invitation over 64 KiB', { text: rep('{"x":"', 'x', 64 * 1024, '"}') }, 'parseInvitation');
  bad('E_OVERSIZE', 'revoke-reason-too-long', 'a revoke reason over 1024 characters', { envelope: forgeEnvelope('alice', 'revoke', { ...unsigned(revoke), reason: 'r'.repeat(1025) }), project_id: pid, now: NOW }, 'verifyRevoke');

  // E_NON_CANONICAL
  const tAText = canonicalize(tA);
  bad('E_NON_CANONICAL', 'signed-text-key-order', 'a signed token with its keys in another order', { text: JSON.stringify(tA) }, 'parseSignedJson');
  bad('E_NON_CANONICAL', 'signed-text-whitespace', 'a signed token with whitespace', { text: tAText.replace('{', '{ ') }, 'parseSignedJson');
  bad('E_NON_CANONICAL', 'signed-text-number-form', 'issued_at written as 1764000060.0', { text: tAText.replace(`"issued_at":${T0 + 60}`, `"issued_at":${T0 + 60}.0`) }, 'parseSignedJson');
  bad('E_NON_CANONICAL', 'signed-text-exponent', 'issued_at written as 1.76400006e9', { text: tAText.replace(`"issued_at":${T0 + 60}`, '"issued_at":1.76400006e9') }, 'parseSignedJson');
  bad('E_NON_CANONICAL', 'signed-text-escape', 'a string with an unnecessary \\u escape', { text: tAText.replace('"role":"admin"', '"role":"\\u0061dmin"') }, 'parseSignedJson');
  bad('E_NON_CANONICAL', 'header-key-order', 'X-Vigo-Chain whose JSON is not canonical', { header: Buffer.from(JSON.stringify({ v: 1, kind: 'push-chain', chain: [root], delegations: [] })).toString('base64url') }, 'decodePushChainHeader');
  bad('E_NON_CANONICAL', 'invitation-number-form', 'an invitation with "version": 1.0', { text: invitation.replace('"version": 1,', '"version": 1.0,') }, 'parseInvitation');
  bad('E_NON_CANONICAL', 'bare-chain-number-form', 'an older sender’s bare chain with a number in exponent form', { header: canonicalize([root]).replace(`"issued_at":${T0}`, '"issued_at":1.764e9') }, 'decodePushChainHeader');

  // chain length
  bad('E_EMPTY_CHAIN', 'empty-chain', 'no tokens at all', base([], 'founder'));
  const hops: Token[] = [root];
  let prevName: KeyName = 'founder';
  for (let i = 1; i <= 16; i++) {
    const name: KeyName = `hop${i}`;
    const prev = hops[i - 1]!;
    hops.push(forge(prevName, { v: 1, kind: 'token', project_id: pid, handle: HANDLE, parent: tokenId(prev), issuer: pk(prevName), subject: pk(name), role: 'admin', issued_at: T0 + i, expires_at: null, nonce: nonce(name) }));
    prevName = name;
  }
  bad('E_CHAIN_TOO_LONG', 'chain-of-17', 'seventeen properly linked and signed admin tokens (limit 16)', base(hops, 'hop16'));

  // E_BAD_SIGNATURE
  bad('E_BAD_SIGNATURE', 'tampered-role', 'bob edits his member token to say admin', base([root, tA, { ...tB, role: 'admin' }], 'bob'));
  bad('E_BAD_SIGNATURE', 'tampered-expiry', 'bob removes his expiry', base([root, tA, { ...tB, expires_at: null }], 'bob'));
  bad('E_BAD_SIGNATURE', 'signed-by-other-key', 'a token signed by mallory but naming founder as issuer', base([root, { ...tA, sig: forge('mallory', unsigned(tA)).sig }], 'alice'));
  bad('E_BAD_SIGNATURE', 'non-canonical-s', 'the leaf’s signature with S replaced by S + L (a malleated twin)', base([root, tA, { ...tB, sig: malleate(tB.sig) }], 'bob'));
  bad('E_BAD_SIGNATURE', 'cross-kind-replay', 'a token body signed under the delegation domain tag', base([root, forge('founder', unsigned(tA), 'delegation')], 'alice'));
  bad('E_BAD_SIGNATURE', 'no-domain-tag', 'a token signed over its canonical bytes without the domain tag', base([root, { ...tA, sig: toHex(signRaw(seedOf('founder'), Buffer.from(canonicalize(unsigned(tA))))) }], 'alice'));
  bad('E_BAD_SIGNATURE', 'zero-signature', 'an all-zero signature', base([{ ...root, sig: '0'.repeat(128) }], 'founder'));
  bad('E_BAD_SIGNATURE', 'revoke-tampered', 'a revoke whose target was changed after signing', { envelope: { ...revoke, token_id: tokenId(tA) }, project_id: pid, now: NOW }, 'verifyRevoke');
  bad('E_BAD_SIGNATURE', 'leave-tampered', 'a leave whose date was changed after signing', { envelope: { ...leave, issued_at: T0 + 701 }, project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_BAD_SIGNATURE', 'leave-replayed-as-revoke-tag', 'a leave body signed under the revoke domain tag', { envelope: forgeEnvelope('bob', 'revoke', unsigned(leave)), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_BAD_SIGNATURE', 'name-claim-tampered', 'a claim whose name was changed after signing', { claim: { ...claim, name: 'mallory' } }, 'verifyNameClaim');

  // E_WRONG_PROJECT
  bad('E_WRONG_PROJECT', 'spliced-other-project', 'a valid chain of another project (same handle) presented for this one', base([rootO, tO], 'alice'));
  bad('E_WRONG_PROJECT', 'spliced-link', 'a link naming another project spliced onto this project’s chain', base([root, resign('founder', tA, { project_id: otherPid })], 'alice'));
  bad('E_WRONG_PROJECT', 'other-handle', 'a link naming another handle', base([root, resign('founder', tA, { handle: 'vigo-api' })], 'alice'));
  bad('E_WRONG_PROJECT', 'checked-against-other-project', 'this project’s chain checked for another project id', { ...base([root, tA], 'alice'), project_id: otherPid });
  bad('E_WRONG_PROJECT', 'delegation-other-project', 'a delegation signed for another project', base([root, tA], 'alice', { delegations: [forgeDelegation('founder', { ...unsigned(d1), project_id: otherPid })] }));
  bad('E_WRONG_PROJECT', 'revoke-other-project', 'a revoke checked for another project', { envelope: revoke, project_id: otherPid, now: NOW }, 'verifyRevoke');
  bad('E_WRONG_PROJECT', 'leave-other-project', 'a leave checked for another project', { envelope: leave, project_id: otherPid, now: NOW }, 'verifyLeave');

  // root
  bad('E_ROOT_NOT_BOOTSTRAP', 'missing-root', 'a chain that starts below the bootstrap token', base([tA], 'alice'));
  bad('E_ROOT_NOT_BOOTSTRAP', 'member-root', 'a self-issued root with role member', base([resign('founder', root, { role: 'member' })], 'founder'));
  bad('E_ROOT_NOT_BOOTSTRAP', 'root-with-parent', 'a root that names a parent', base([resign('founder', root, { parent: tokenId(tA) })], 'founder'));
  bad('E_ROOT_NOT_FOUNDER', 'self-made-root', 'mallory mints her own bootstrap token naming this project', base([forge('mallory', { ...unsigned(root), issuer: pk('mallory'), subject: pk('mallory') })], 'mallory'));
  bad('E_ROOT_NOT_FOUNDER', 'root-by-non-founder-with-delegations', 'a root by a key that no delegation made founder', base([forge('mallory', { ...unsigned(root), issuer: pk('mallory'), subject: pk('mallory') })], 'mallory', { delegations: [d1] }));
  bad('E_ROOT_NOT_FOUNDER', 'forged-delegation-from-non-genesis', 'mallory delegates from herself to a key she controls: the genesis is then not the project’s founder', base([forge('founder2', { ...unsigned(root2) })], 'founder2', { delegations: [forgeDelegation('mallory', { ...unsigned(d1), prev_founder: pk('mallory') })] }));

  // links
  bad('E_PARENT_MISMATCH', 'wrong-parent-id', 'bob’s token re-signed to point at the root instead of alice’s token', base([root, tA, resign('alice', tB, { parent: tokenId(root) })], 'bob'));
  bad('E_PARENT_MISMATCH', 'reordered-chain', 'a chain whose links are out of order', base([root, tB, tA], 'alice'));
  bad('E_ISSUER_NOT_PARENT_SUBJECT', 'issuer-not-parent-subject', 'carol signs a child of the founder’s root', base([root, forge('carol', { ...unsigned(tA), issuer: pk('carol') })], 'alice'));
  const tBm = forge('bob', { v: 1, kind: 'token', project_id: pid, handle: HANDLE, parent: tokenId(tB), issuer: pk('bob'), subject: pk('carol'), role: 'member', issued_at: T0 + 200, expires_at: T0 + 10 * DAY, nonce: nonce('bob-mints') });
  bad('E_NOT_ADMIN_MINT', 'member-mints-member', 'bob (member) mints a member token for carol', base([root, tA, tB, tBm], 'carol'));
  bad('E_ROLE_ESCALATION', 'member-mints-admin', 'bob (member) mints an admin token for carol', base([root, tA, tB, resign('bob', tBm, { role: 'admin' })], 'carol'));
  const tA10 = await mintChildToken(k('founder'), [root], k('alice').publicKey, 'admin', T0 + 60, T0 + 10 * DAY, { nonce: nonce('alice-10d') });
  const outlive = { v: 1 as const, kind: 'token' as const, project_id: pid, handle: HANDLE, parent: tokenId(tA10), issuer: pk('alice'), subject: pk('bob'), role: 'member' as const, issued_at: T0 + 120, nonce: nonce('outlive') };
  bad('E_OUTLIVES_PARENT', 'child-never-expires', 'alice’s token expires in 10 days; her child for bob never does', base([root, tA10, forge('alice', { ...outlive, expires_at: null })], 'bob'));
  bad('E_OUTLIVES_PARENT', 'child-expires-later', 'alice’s token expires in 10 days; her child for bob in 11', base([root, tA10, forge('alice', { ...outlive, expires_at: T0 + 11 * DAY })], 'bob'));

  // time
  bad('E_NOT_YET_VALID', 'issued-in-future', 'a token dated 301 s after now', base([root, tA], 'alice', { now: T0 + 60 - 301 }));
  bad('E_NOT_YET_VALID', 'delegation-in-future', 'a delegation dated a day after now', base([root, tA], 'alice', { delegations: [d1], now: T0 + 3600 - DAY }));
  bad('E_NOT_YET_VALID', 'revoke-in-future', 'a revoke dated after now', { envelope: revoke, project_id: pid, now: T0 + 600 - 301 }, 'verifyRevoke');
  bad('E_EXPIRED', 'expired-leaf', 'bob’s token at its expiry second', base([root, tA, tB], 'bob', { now: T0 + 30 * DAY }));
  bad('E_EXPIRED', 'expired-middle', 'alice’s 10-day admin token has expired; bob’s child of it too', base([root, tA10, forge('alice', { ...outlive, expires_at: T0 + 5 * DAY })], 'bob', { now: T0 + 10 * DAY }));

  // revocation and presenter
  bad('E_REVOKED', 'revoked-middle', 'alice’s token is revoked; bob’s chain runs through it', base([root, tA, tB], 'bob', { revoked: [[tokenId(tA), 'compromised']] }));
  bad('E_REVOKED', 'revoked-leaf', 'bob’s own token is revoked', base([root, tA, tB], 'bob', { revoked: [[tokenId(tB), null]] }));
  bad('E_PRESENTER_MISMATCH', 'leaf-names-other-subject', 'carol presents bob’s chain', base([root, tA, tB], 'carol'));
  bad('E_PRESENTER_MISMATCH', 'revoke-signer-not-leaf', 'a revoke signed by bob carrying alice’s chain', { envelope: forgeEnvelope('bob', 'revoke', { ...unsigned(revoke), signer: pk('bob') }), project_id: pid, now: NOW }, 'verifyRevoke');

  // delegations
  bad('E_DELEGATION_SIGNATURE', 'delegation-tampered', 'a delegation whose new founder was swapped after signing', base([root, tA], 'alice', { delegations: [{ ...d1, new_founder: pk('mallory') }] }));
  bad('E_DELEGATION_SIGNATURE', 'delegation-signed-by-new-key', 'a delegation signed by the new founder instead of the retiring one', base([root, tA], 'alice', { delegations: [{ ...d1, sig: forgeDelegation('founder2', unsigned(d1)).sig }] }));
  bad('E_DELEGATION_ORDER', 'delegation-seq-wrong', 'the first delegation says seq 2', base([root, tA], 'alice', { delegations: [forgeDelegation('founder', { ...unsigned(d1), seq: 2 })] }));
  bad('E_DELEGATION_ORDER', 'delegation-broken-link', 'the second delegation is signed by a key the first did not install', base([root, tA], 'alice', { delegations: [d1, forgeDelegation('mallory', { ...unsigned(d2), prev_founder: pk('mallory') })] }));
  bad('E_DELEGATION_ORDER', 'delegation-time-backwards', 'the second delegation is dated before the first', base([root, tA], 'alice', { delegations: [d1, forgeDelegation('founder2', { ...unsigned(d2), issued_at: T0 + 100 })] }));
  bad('E_DELEGATION_ORDER', 'delegation-back-to-old-founder', 'authority handed back to a retired key', base([root, tA], 'alice', { delegations: [d1, forgeDelegation('founder2', { ...unsigned(d2), new_founder: pk('founder') })] }));
  const lateRoot = forge('founder', { ...unsigned(root), issued_at: T0 + 3601, nonce: nonce('late-root') });
  bad('E_DELEGATION_WINDOW', 'deposed-founder-root', 'the retired genesis founder mints a root one second after its window closed', base([lateRoot], 'founder', { delegations: [d1] }));
  bad('E_DELEGATION_WINDOW', 'deposed-founder-child', 'the retired genesis founder mints an admin token for mallory after its window', base([root, forge('founder', { ...unsigned(tA), subject: pk('mallory'), issued_at: T0 + 4000 })], 'mallory', { delegations: [d1] }));
  bad('E_DELEGATION_WINDOW', 'new-founder-root-before-window', 'founder2 mints a root dated before its delegation', base([forge('founder2', { ...unsigned(root2), issued_at: T0 + 100 })], 'founder2', { delegations: [d1] }));
  bad('E_DELEGATION_WINDOW', 'retired-founder-presents', 'the retired genesis founder presents its own bootstrap token after the rekey', base([root], 'founder', { delegations: [d1] }));
  bad('E_DELEGATION_WINDOW', 'retired-founder-hides-delegations', 'the retired founder presents its bootstrap token and no delegations; the verifier holds delegation 1', base([root], 'founder', { known_delegations: [d1] }));
  bad('E_DELEGATION_WINDOW', 'retired-founder-revokes-hiding-delegations', 'the retired founder signs a revoke after its window, embedding no delegations; the receiver holds delegation 1', { envelope: await mintRevoke(k('founder'), [root], [], tokenId(tA), null, T0 + 4000), project_id: pid, now: NOW, known_delegations: [d1] }, 'verifyRevoke');
  bad('E_DELEGATION_ORDER', 'delegations-fork', 'the presented delegation contradicts the one the verifier holds (the retired founder delegated to mallory instead)', base([root, tA], 'alice', { delegations: [forgeDelegation('founder', { ...unsigned(d1), new_founder: pk('mallory') })], known_delegations: [d1] }));
  bad('E_DELEGATION_CAP', 'sixth-delegation', 'six properly signed delegations (cap 5)', base([root, tA], 'alice', { delegations: [...fullDelegations, sixth] }));
  bad('E_DELEGATION_CAP', 'seventh-delegation', 'seven properly signed delegations', base([root, tA], 'alice', { delegations: [...fullDelegations, sixth, seventh] }));
  bad('E_DELEGATION_CAP', 'invitation-over-cap', 'an invitation carrying six delegations', { text: invitation.replace('"delegations": []', `"delegations": ${JSON.stringify([...fullDelegations, sixth])}`) }, 'parseInvitation');

  // project state and revoke authority
  bad('E_TOMBSTONED', 'tombstoned-project', 'a valid chain for a project that was re-founded', base([root, tA], 'alice', { tombstoned: true }));
  const memberRevoke = forgeEnvelope('bob', 'revoke', { ...unsigned(revoke), signer: pk('bob'), signer_chain: [root, tA, tB], token_id: tokenId(tA) });
  bad('E_NOT_ADMIN', 'member-revokes', 'bob (member) signs a revoke of alice’s token', { envelope: memberRevoke, project_id: pid, now: NOW }, 'verifyRevoke');
  bad('E_REVOKE_ANCESTOR', 'admin-revokes-root', 'alice revokes the bootstrap token above her, which would cut off the whole project', { envelope: forgeEnvelope('alice', 'revoke', { ...unsigned(revoke), token_id: tokenId(root) }), project_id: pid, now: NOW }, 'verifyRevoke');

  // leaves (issue 8): a leave carries the leaver's chain and gives up only its leaf
  const leaveOf = (signer: KeyName, body: Record<string, unknown>) => forgeEnvelope(signer, 'leave', { ...unsigned(leave), ...body });
  bad('E_LEAVE_ROOT', 'forged-leave-of-root', 'mallory (no membership) signs a leave naming the root token, carrying the founder’s chain', { envelope: leaveOf('mallory', { subject: pk('mallory'), token_id: tokenId(root), subject_chain: [root] }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_LEAVE_ROOT', 'founder-leaves-root', 'the founder itself signs a leave of its bootstrap token: the root is never retired by a leave', { envelope: leaveOf('founder', { subject: pk('founder'), token_id: tokenId(root), subject_chain: [root] }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_EMPTY_CHAIN', 'leave-without-chain', 'mallory signs a leave naming the root with no chain at all', { envelope: leaveOf('mallory', { subject: pk('mallory'), token_id: tokenId(root), subject_chain: [] }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_LEAVE_NOT_LEAF', 'leave-names-parent', 'bob signs a leave naming alice’s token, which is above his own in his chain', { envelope: leaveOf('bob', { token_id: tokenId(tA) }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_PRESENTER_MISMATCH', 'leave-of-anothers-token', 'mallory signs a leave of bob’s token, carrying bob’s chain', { envelope: leaveOf('mallory', { subject: pk('mallory') }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_MALFORMED', 'leave-old-format', 'a leave without subject_chain (the format before issue 8)', { envelope: forgeEnvelope('bob', 'leave', { v: 1, kind: 'leave', project_id: pid, subject: pk('bob'), token_id: tokenId(tB), issued_at: T0 + 700 }), project_id: pid, now: NOW }, 'verifyLeave');
  bad('E_NOT_YET_VALID', 'leave-in-future', 'a leave dated after now', { envelope: leave, project_id: pid, now: T0 + 700 - 301 }, 'verifyLeave');
  bad('E_LEFT', 'left-leaf', 'bob presents the chain whose leaf he gave up by a leave', base([root, tA, tB], 'bob', { left: [[tokenId(tB), 'its holder left the project']] }));
  ok('left-token-mid-chain', 'alice left (her token tA is given up), but bob’s chain through tA still verifies: a leave acts on the leaf only', base([root, tA, tB], 'bob', { left: [[tokenId(tA), 'its holder left the project']] }));
  ok('revoke-dated-before-token', 'a standing revoke of bob’s token dated before the token was issued (backdated) does not count', base([root, tA, tB], 'bob', { revoked: [[tokenId(tB), null]], revoked_at: [[tokenId(tB), T0 + 120 - 301]] }));
  bad('E_REVOKED', 'revoke-dated-within-skew-of-token', 'a revoke dated up to 300 s before the token it names still counts (clock skew)', base([root, tA, tB], 'bob', { revoked: [[tokenId(tB), null]], revoked_at: [[tokenId(tB), T0 + 120 - 300]] }));

  // the revocation set (issue 8): a revoke stands iff its signer was not revoked before it signed
  const tM = await mintChildToken(k('founder'), [root], k('mallory').publicKey, 'admin', T0 + 60, null, { nonce: nonce('mallory-admin') });
  const founderRevokesAlice = await mintRevoke(k('founder'), [root], [], tokenId(tA), 'compromised', T0 + 1000);
  const aliceRevokesMallory = await mintRevoke(k('alice'), [root, tA], [], tokenId(tM), 'revenge', T0 + 2000);
  const aliceRevokesMalloryEarly = await mintRevoke(k('alice'), [root, tA], [], tokenId(tM), null, T0 + 900);
  const set = (name: string, description: string, revokes: unknown[], leaves: unknown[]) => ok(name, description, { project_id: pid, now: NOW, revokes, leaves }, 'effectiveRevocations');
  set('revocation-set-revenge', 'the founder revokes alice at T0+1000; alice’s revoke of bob at T0+600 stands (signed before), her revoke of mallory at T0+2000 does not', [aliceRevokesMallory, revoke, founderRevokesAlice], []);
  set('revocation-set-revenge-other-order', 'the same three revokes in another order: the same result', [founderRevokesAlice, aliceRevokesMallory, revoke], []);
  set('revocation-set-signed-before', 'alice’s revoke of mallory signed at T0+900, before her own revocation at T0+1000, stands', [founderRevokesAlice, aliceRevokesMalloryEarly], []);
  const mRevokesA = (at: number) => mintRevoke(k('mallory'), [root, tM], [], tokenId(tA), null, at);
  const aRevokesM = await mintRevoke(k('alice'), [root, tA], [], tokenId(tM), null, T0 + 5000);
  set('revocation-set-cycle-same-second', 'alice and mallory revoke each other in the same second: both stand (ties never favour the revoked)', [aRevokesM, await mRevokesA(T0 + 5000)], []);
  set('revocation-set-cycle', 'alice revokes mallory at T0+5000, mallory revokes alice a second later: only the first stands', [await mRevokesA(T0 + 5001), aRevokesM], []);
  const tAB = await mintChildToken(k('alice'), [root, tA], k('carol').publicKey, 'admin', T0 + 100, null, { nonce: nonce('carol-under-alice') });
  set('revocation-set-revoked-intermediate', 'carol (admin under alice) revokes bob after alice was revoked: carol’s chain passes through a revoked token, so it does not stand', [founderRevokesAlice, await mintRevoke(k('carol'), [root, tA, tAB], [], tokenId(tB), null, T0 + 1500)], []);
  set('revocation-set-leaver-revokes', 'alice gave up her token by a leave at T0+800; her revoke of mallory at T0+2000 does not stand', [aliceRevokesMallory], [await mintLeave(k('alice'), [root, tA], [], T0 + 800)]);
  set('revocation-set-forged-leave', 'a forged leave of the root among the envelopes is refused with its code and retires nothing', [revoke], [leaveOf('mallory', { subject: pk('mallory'), token_id: tokenId(root), subject_chain: [root] })]);
  bad('E_REVOKER_REVOKED', 'revoke-by-revoked-admin', 'alice’s revoke of mallory signed at T0+2000, after the founder revoked alice at T0+1000, is refused at admission', { envelope: aliceRevokesMallory, project_id: pid, now: NOW, held_revokes: [founderRevokesAlice], held_leaves: [] }, 'admitRevoke');
  ok('revoke-by-admin-before-revocation', 'alice’s revoke signed at T0+900, before her own revocation at T0+1000, is admitted', { envelope: aliceRevokesMalloryEarly, project_id: pid, now: NOW, held_revokes: [founderRevokesAlice], held_leaves: [] }, 'admitRevoke');

  for (const f of valid) f.expect = runFixture(f);
  for (const f of invalid) {
    const got = runFixture(f);
    if (got.ok !== false || got.code !== f.expect.code) throw new Error(`fixture ${f.name}: expected ${String(f.expect.code)}, got ${JSON.stringify(got)}`);
  }
  for (const f of valid) if (f.expect.ok !== true) throw new Error(`valid fixture ${f.name} failed: ${JSON.stringify(f.expect)}`);
  return { keys, objects, valid, invalid };
}

export const VECTOR_FILES = ['keys.json', 'objects.json', 'verify-valid.json', 'verify-invalid.json'] as const;

export function vectorDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'vectors');
}

export function serialize(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const v = await buildVectors();
  const dir = vectorDir();
  const data = [v.keys, v.objects, v.valid, v.invalid];
  VECTOR_FILES.forEach((f, i) => writeFileSync(join(dir, f), serialize(data[i])));
  console.log(`wrote ${VECTOR_FILES.join(', ')} to ${dir} (${v.valid.length} valid, ${v.invalid.length} failing fixtures; sha256 of fixtures ${sha256Hex(serialize(v.invalid)).slice(0, 12)})`);
}
