// Puddle pairing, the claim decision and the endpoint (issue 12 items 3–5).
// 1. decideClaim is pure: every rule has an attack that breaks it and expects its code.
// 2. The wire parsers refuse what they do not understand.
// 3. The endpoint on a real mTLS transport (127.0.0.2), a real Unix user's puddle dir written
//    by openPairOffer: a wrong code is counted on disk, 5 lock the offer, the right one is
//    answered once and burned, a reuse is refused, a symlinked pair.pending is not followed,
//    an unknown peer and a closed gate change nothing; adoptPairedIdentity installs the answer.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/platform/clock.js';
import { generateKeyPair, signRaw, toHex } from '../../src/trust/index.js';
import { PairEndpoint, SwarmTransport, swarmCall, type SwarmReply } from '../../src/swarm/index.js';
import { adoptPairedIdentity, initIdentity, openPairOffer } from '../../src/puddle/index.js';
import {
  ClaimRateLimit,
  decideClaim,
  encodeClaim,
  newOffer,
  PAIR_CLAIM_PATH,
  PAIR_MAX_FAILURES,
  parseAnswer,
  parseClaim,
  parseOffer,
  rekeyProofMessage,
  type ClaimInput,
  type PairClaim,
  type PairOffer,
} from '../../src/wire/puddle-pair.js';
import { createTestUser, removeTestUser, userSupport, type TestUser } from '../helpers/users.js';
import { TestFleet, type TestEnvoy } from './transport-fleet.js';

const CODE = 'AbCdEfGhIjKlMnOp';
const PEER = '11111111-2222-4333-8444-555555555555';
const SELF = '99999999-2222-4333-8444-555555555555';
const PUB = 'a'.repeat(64);

function offer(over: Partial<PairOffer> = {}): PairOffer {
  return { ...newOffer({ code: CODE, offerId: '0123456789abcdef', purpose: 'join', pubkey: PUB, oldPubkey: null, nowS: 1000 }), ...over };
}
function claim(over: Partial<PairClaim> = {}): PairClaim {
  return { v: 1, kind: 'puddle-pair-claim', user: 'alice', code: CODE, purpose: 'join', proof: null, ...over };
}
function input(over: Partial<ClaimInput> = {}): ClaimInput {
  return { offer: offer(), nowS: 1100, claim: claim(), peerEnvoy: PEER, selfEnvoy: SELF, peerKnown: true, gateOpen: true, peerGateOpen: null, isRetired: () => false, ...over };
}
const codeOf = (i: ClaimInput): string => {
  const v = decideClaim(i);
  return v.ok ? 'ok' : v.code;
};

describe('decideClaim: each rule broken', () => {
  test('the honest claim succeeds and burns the offer', () => {
    const v = decideClaim(input());
    assert.equal(v.ok, true);
    assert.equal(v.ok && v.offer.burned_at, 1100);
    assert.equal(v.ok && v.offer.burned_by, PEER);
  });
  test('closed gate here, or the claimer known outside it', () => {
    assert.equal(codeOf(input({ gateOpen: false })), 'E_PAIR_GATE');
    assert.equal(codeOf(input({ peerGateOpen: false })), 'E_PAIR_GATE');
  });
  test('a fleet envoy this one never heard of', () => assert.equal(codeOf(input({ peerKnown: false })), 'E_PAIR_UNKNOWN_PEER'));
  test('no offer', () => assert.equal(codeOf(input({ offer: null })), 'E_PAIR_NO_OFFER'));
  test('a wrong code is counted, and the count is what must be stored', () => {
    const v = decideClaim(input({ claim: claim({ code: 'AbCdEfGhIjKlMnOq' }) }));
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.code, 'E_PAIR_WRONG_CODE');
    assert.equal(!v.ok && v.offer?.failures, 1);
  });
  test('after 5 wrong codes even the right one is refused', () => {
    assert.equal(codeOf(input({ offer: offer({ failures: PAIR_MAX_FAILURES }) })), 'E_PAIR_LOCKED');
  });
  test('reused (burned) and expired; neither changes the offer', () => {
    const used = decideClaim(input({ offer: offer({ burned_at: 1050, burned_by: PEER }) }));
    assert.equal(!used.ok && used.code, 'E_PAIR_USED');
    assert.equal(!used.ok && used.offer, null);
    const late = decideClaim(input({ nowS: 1300 }));
    assert.equal(!late.ok && late.code, 'E_PAIR_EXPIRED');
    assert.equal(!late.ok && late.offer, null);
    assert.equal(codeOf(input({ nowS: 1299 })), 'ok');
  });
  test('rekey: no proof, a proof by another key, a proof for other envoys, a forged one', () => {
    const old = generateKeyPair();
    const oldHex = toHex(old.publicKey);
    const o = offer({ purpose: 'rekey', old_pubkey: oldHex });
    const sign = (seed: Uint8Array, claimer = PEER, answerer = SELF) => toHex(signRaw(seed, rekeyProofMessage({ codeSha256: o.code_sha256, oldPubkey: oldHex, claimerEnvoy: claimer, answererEnvoy: answerer })));
    const good = claim({ purpose: 'rekey', proof: { old_pubkey: oldHex, sig: sign(old.seed) } });
    assert.equal(codeOf(input({ offer: o, claim: good })), 'ok');
    assert.equal(codeOf(input({ offer: o, claim: claim({ purpose: 'rekey', proof: null }) })), 'E_PAIR_PROOF');
    const other = generateKeyPair();
    assert.equal(codeOf(input({ offer: o, claim: claim({ purpose: 'rekey', proof: { old_pubkey: toHex(other.publicKey), sig: sign(other.seed) } }) })), 'E_PAIR_PROOF');
    // a proof captured from a claim by another envoy (replayed by a thief of the code) fails
    assert.equal(codeOf(input({ offer: o, claim: claim({ purpose: 'rekey', proof: { old_pubkey: oldHex, sig: sign(old.seed, SELF, PEER) } }) })), 'E_PAIR_PROOF');
    assert.equal(codeOf(input({ offer: o, claim: claim({ purpose: 'rekey', proof: { old_pubkey: oldHex, sig: sign(other.seed) } }) })), 'E_PAIR_PROOF');
    // a plain pair offer serves a rekey only for a key this puddle retired
    const plain = offer();
    const s2 = toHex(signRaw(old.seed, rekeyProofMessage({ codeSha256: plain.code_sha256, oldPubkey: oldHex, claimerEnvoy: PEER, answererEnvoy: SELF })));
    const c2 = claim({ purpose: 'rekey', proof: { old_pubkey: oldHex, sig: s2 } });
    assert.equal(codeOf(input({ offer: plain, claim: c2 })), 'E_PAIR_PROOF');
    assert.equal(codeOf(input({ offer: plain, claim: c2, isRetired: (p) => p === oldHex })), 'ok');
  });
  test('rate limit: a burst, then one per 10 s', () => {
    const r = new ClaimRateLimit(5, 6);
    for (let i = 0; i < 5; i++) assert.equal(r.take(PEER, 0), true);
    assert.equal(r.take(PEER, 0), false);
    assert.equal(r.take(SELF, 0), true, 'per peer');
    assert.equal(r.take(PEER, 10_000), true);
    assert.equal(r.take(PEER, 10_000), false);
  });
});

describe('parsers refuse what they do not understand', () => {
  test('claim', () => {
    assert.deepEqual(parseClaim(encodeClaim(claim())), claim());
    for (const bad of [
      { ...claim(), extra: 1 },
      { ...claim(), v: 2 },
      { ...claim(), code: 'short' },
      { ...claim(), code: 'AbCdEfGhIjKlMnO+' },
      { ...claim(), user: '../root' },
      { ...claim(), purpose: 'steal' },
      { ...claim(), purpose: 'rekey', proof: null },
      { ...claim(), proof: { old_pubkey: PUB, sig: 'ab'.repeat(64) } },
    ]) assert.throws(() => parseClaim(JSON.stringify(bad)), /pair claim/, JSON.stringify(bad));
    assert.throws(() => parseClaim('x'.repeat(5000)), /larger than/);
  });
  test('offer', () => {
    const o = offer();
    assert.deepEqual(parseOffer(JSON.stringify(o), 'f'), o);
    for (const bad of [{ ...o, failures: 6 }, { ...o, expires_at: 10 }, { ...o, code: CODE }, { ...o, purpose: 'rekey' }, { ...o, burned_by: 'me' }]) assert.throws(() => parseOffer(JSON.stringify(bad), 'f'), /^PairWireError|f:/);
  });
});

const skip = userSupport();
describe('the endpoint on a real transport', { skip: skip ?? false }, () => {
  let user: TestUser;
  let fleet: TestFleet;
  let a: TestEnvoy;
  let c: TestEnvoy;
  let stranger: TestEnvoy;
  let transport: SwarmTransport;
  let endpoint: PairEndpoint;
  let port = 0;
  let gate = true;
  const clock = new ManualClock(Date.now());
  let dir: string;
  let scratch: string;

  before(async () => {
    user = createTestUser('pair');
    dir = join(user.home, '.vigo-puddle');
    await initIdentity(dir, 'correct horse battery', {}, { kdf: { alg: 'argon2id', m_kib: 19456, t: 2, p: 1 } });
    for (const f of ['', ...readdirSync(dir)]) chownSync(join(dir, f), user.uid, user.gid);
    fleet = await TestFleet.create();
    a = await fleet.envoy('a');
    c = await fleet.envoy('c');
    stranger = await fleet.envoy('stranger');
    transport = new SwarmTransport({ identity: a.identity, host: '127.0.0.2', port: 0 });
    endpoint = new PairEndpoint({
      transport,
      selfEnvoy: a.id,
      clock,
      user: (n) => (n === user.name ? user : null),
      gateOpen: () => gate,
      peerKnown: (id) => id === c.id,
      rate: new ClaimRateLimit(100, 600),
    });
    port = (await transport.listen()).port;
    scratch = mkdtempSync(join(tmpdir(), 'vigo-pair-'));
  });
  after(async () => {
    await transport?.close();
    if (user) removeTestUser(user);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const call = (from: TestEnvoy, body: PairClaim): Promise<SwarmReply> =>
    swarmCall({ identity: from.identity, host: '127.0.0.2', port, expectEnvoyId: a.id, method: 'POST', path: PAIR_CLAIM_PATH, body: encodeClaim(body), deadlineMs: 20_000 });
  const offerOnDisk = (): PairOffer => parseOffer(readFileSync(join(dir, 'pair.pending')), 'pair.pending');
  const mint = (): string => {
    const r = openPairOffer(dir, { purpose: 'join', nowS: Math.floor(clock.now() / 1000) });
    chownSync(r.file, user.uid, user.gid);
    return r.code;
  };

  test('pair.pending holds the hash, never the code, 0600', () => {
    const code = mint();
    const text = readFileSync(join(dir, 'pair.pending'), 'utf8');
    assert.ok(!text.includes(code));
    assert.equal(statSync(join(dir, 'pair.pending')).mode & 0o777, 0o600);
  });

  test('an unknown peer and a closed gate are refused and change nothing', async () => {
    const code = mint();
    const before = readFileSync(join(dir, 'pair.pending'), 'utf8');
    assert.equal((await call(stranger, claim({ user: user.name, code }))).error?.code, 'E_PAIR_UNKNOWN_PEER');
    gate = false;
    assert.equal((await call(c, claim({ user: user.name, code }))).error?.code, 'E_PAIR_GATE');
    gate = true;
    assert.equal(readFileSync(join(dir, 'pair.pending'), 'utf8'), before);
  });

  test('wrong codes are counted on disk; the 5th locks the offer', async () => {
    const code = mint();
    for (let i = 1; i <= PAIR_MAX_FAILURES; i++) {
      const r = await call(c, claim({ user: user.name, code: 'zzzzzzzzzzzzzzzz' }));
      assert.equal(r.status, 403);
      assert.equal(r.error?.code, 'E_PAIR_WRONG_CODE');
      assert.equal(offerOnDisk().failures, i);
      assert.equal(statSync(join(dir, 'pair.pending')).uid, user.uid, 'rewritten as the user');
    }
    assert.equal((await call(c, claim({ user: user.name, code }))).error?.code, 'E_PAIR_LOCKED');
  });

  test('the right code: answered once with the wrapped identity, then burned; expiry refuses', async () => {
    const code = mint();
    const r = await call(c, claim({ user: user.name, code }));
    assert.equal(r.status, 200, r.body.toString());
    const ans = parseAnswer(r.body);
    assert.equal(ans.pubkey, readFileSync(join(dir, 'identity.pub'), 'utf8').trim());
    assert.equal(ans.wrapped, readFileSync(join(dir, 'identity.wrapped'), 'utf8'));
    assert.ok(!r.body.toString().includes('correct horse'));
    assert.equal(offerOnDisk().burned_by, c.id);
    assert.equal((await call(c, claim({ user: user.name, code }))).error?.code, 'E_PAIR_USED');
    // the answer installs as `init` would have written it
    const target = join(scratch, 'target', '.vigo-puddle');
    const got = await adoptPairedIdentity(target, ans, {});
    assert.equal(got.pubkey, ans.pubkey);
    for (const f of ['identity.wrapped', 'identity.salt', 'identity.pub']) assert.deepEqual(readFileSync(join(target, f)), readFileSync(join(dir, f)), f);
    assert.equal(statSync(join(target, 'identity.salt')).mode & 0o777, 0o600);
    assert.equal(statSync(join(target, 'identity.pub')).mode & 0o777, 0o644);
    await assert.rejects(adoptPairedIdentity(target, ans, {}), /already exists/);
    const late = mint();
    clock.advance(301_000);
    assert.equal((await call(c, claim({ user: user.name, code: late }))).error?.code, 'E_PAIR_EXPIRED');
  });

  test('a pair.pending that is a symlink is not followed', async () => {
    const elsewhere = join(scratch, 'planted.json');
    writeFileSync(elsewhere, JSON.stringify(offer()));
    unlinkSync(join(dir, 'pair.pending'));
    symlinkSync(elsewhere, join(dir, 'pair.pending'));
    const r = await call(c, claim({ user: user.name, code: CODE }));
    assert.equal(r.error?.code, 'E_PAIR_UNSAFE');
    assert.equal(endpoint.counts.get('ok'), 1);
    unlinkSync(join(dir, 'pair.pending'));
  });

  test('per peer rate limit on the endpoint: past the burst, 429 and the offer untouched; another peer still served', async () => {
    const t2 = new SwarmTransport({ identity: a.identity, host: '127.0.0.3', port: 0 });
    new PairEndpoint({ transport: t2, selfEnvoy: a.id, clock, user: (n) => (n === user.name ? user : null), gateOpen: () => true, peerKnown: () => true, rate: new ClaimRateLimit(2, 1) });
    const p2 = (await t2.listen()).port;
    try {
      const code = mint();
      const before = readFileSync(join(dir, 'pair.pending'), 'utf8');
      const at = (from: TestEnvoy) => swarmCall({ identity: from.identity, host: '127.0.0.3', port: p2, expectEnvoyId: a.id, method: 'POST', path: PAIR_CLAIM_PATH, body: encodeClaim(claim({ user: 'nosuchuser', code })), deadlineMs: 20_000 });
      assert.equal((await at(stranger)).error?.code, 'E_PAIR_NO_OFFER');
      assert.equal((await at(stranger)).error?.code, 'E_PAIR_NO_OFFER');
      const r = await at(stranger);
      assert.equal(r.status, 429);
      assert.equal(r.error?.code, 'E_PAIR_RATE');
      assert.equal((await at(c)).error?.code, 'E_PAIR_NO_OFFER', 'per peer: another envoy is not throttled');
      assert.equal(readFileSync(join(dir, 'pair.pending'), 'utf8'), before);
    } finally {
      await t2.close();
      unlinkSync(join(dir, 'pair.pending'));
    }
  });

  test('a claim for a user with no offer, or no such user', async () => {
    assert.equal((await call(c, claim({ user: 'nosuchuser', code: CODE }))).error?.code, 'E_PAIR_NO_OFFER');
    assert.equal((await call(c, claim({ user: user.name, code: CODE }))).error?.code, 'E_PAIR_NO_OFFER');
  });
});
