// Builds test/vectors/puddle-pair.json (docs/wire-formats.md §20) and runs its fixtures. The
// checked-in JSON is the specification: the test loads it as it is and never regenerates it.
// Regenerate only after a deliberate format change:
// `npx tsc -p tsconfig.json && node dist/test/swarm/pair-vectors.js`, then review the diff.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publicKeyFromSeed, sha256Hex, signRaw, toHex, type Hex } from '../../src/trust/index.js';
import {
  decideClaim,
  encodeAnswer,
  encodeClaim,
  newOffer,
  offerText,
  pairCodeHash,
  rekeyProofMessage,
  type ClaimInput,
  type PairAnswer,
  type PairClaim,
  type PairOffer,
} from '../../src/wire/puddle-pair.js';
import { serialize, vectorDir } from '../vectors/generate.js';

export const PAIR_FILE = 'puddle-pair.json';
const CLAIMER = '11111111-2222-4333-8444-555555555555';
const ANSWERER = '99999999-2222-4333-8444-555555555555';

export interface DecisionFixture {
  name: string;
  offer: PairOffer | null;
  now_s: number;
  claim: PairClaim;
  peer_known: boolean;
  gate_open: boolean;
  retired: Hex[];
  expect: { ok: true; offer: PairOffer } | { ok: false; code: string; offer: PairOffer | null };
}

export interface PairVectors {
  code: string;
  code_sha256: Hex;
  offer_text: string;
  claim_body: string;
  rekey: { old_seed: Hex; old_pubkey: Hex; claimer_envoy: string; answerer_envoy: string; message_hex: string; sig: string; claim_body: string };
  answer_body: string;
  decisions: DecisionFixture[];
}

export function runDecision(fx: DecisionFixture): DecisionFixture['expect'] {
  const input: ClaimInput = {
    offer: fx.offer,
    nowS: fx.now_s,
    claim: fx.claim,
    peerEnvoy: CLAIMER,
    selfEnvoy: ANSWERER,
    peerKnown: fx.peer_known,
    gateOpen: fx.gate_open,
    peerGateOpen: null,
    isRetired: (p) => fx.retired.includes(p),
  };
  const v = decideClaim(input);
  return v.ok ? { ok: true, offer: v.offer } : { ok: false, code: v.code, offer: v.offer };
}

export function buildPairVectors(): PairVectors {
  const code = 'AbCdEfGhIjKlMnOp';
  const pub = toHex(publicKeyFromSeed(Buffer.from(sha256Hex('vigo-vectors/pair-new'), 'hex')));
  const oldSeed = sha256Hex('vigo-vectors/pair-old');
  const oldPub = toHex(publicKeyFromSeed(Buffer.from(oldSeed, 'hex')));
  const offer = newOffer({ code, offerId: '0123456789abcdef', purpose: 'join', pubkey: pub, oldPubkey: null, nowS: 1764086400 });
  const rekeyOffer = newOffer({ code, offerId: 'fedcba9876543210', purpose: 'rekey', pubkey: pub, oldPubkey: oldPub, nowS: 1764086400 });
  const claim: PairClaim = { v: 1, kind: 'puddle-pair-claim', user: 'alice', code, purpose: 'join', proof: null };
  const msg = rekeyProofMessage({ codeSha256: pairCodeHash(code), oldPubkey: oldPub, claimerEnvoy: CLAIMER, answererEnvoy: ANSWERER });
  const sig = toHex(signRaw(Buffer.from(oldSeed, 'hex'), msg));
  const rekeyClaim: PairClaim = { ...claim, purpose: 'rekey', proof: { old_pubkey: oldPub, sig } };
  const answer: PairAnswer = {
    v: 1,
    kind: 'puddle-pair-answer',
    purpose: 'join',
    pubkey: pub,
    wrapped: '{"v":1,"kind":"puddle-wrapped-key","…":"identity.wrapped as on disk"}\n',
    salt: '00112233445566778899aabbccddeeff',
    kdf: { alg: 'argon2id', m_kib: 65536, t: 3, p: 4 },
    name_claim: null,
  };
  const base = { now_s: 1764086500, claim, peer_known: true, gate_open: true, retired: [] as Hex[] };
  const fx: Array<Omit<DecisionFixture, 'expect'>> = [
    { name: 'the right code, in time: burned by the claimer', offer, ...base },
    { name: 'this envoy outside the puddle gate', offer, ...base, gate_open: false },
    { name: 'a fleet envoy this one does not know', offer, ...base, peer_known: false },
    { name: 'no offer', offer: null, ...base },
    { name: 'a wrong code: counted', offer, ...base, claim: { ...claim, code: 'AbCdEfGhIjKlMnOq' } },
    { name: 'the 5th wrong code locks', offer: { ...offer, failures: 4 }, ...base, claim: { ...claim, code: 'AbCdEfGhIjKlMnOq' } },
    { name: 'locked: even the right code', offer: { ...offer, failures: 5 }, ...base },
    { name: 'reused', offer: { ...offer, burned_at: 1764086450, burned_by: CLAIMER }, ...base },
    { name: 'expired (at expires_at)', offer, ...base, now_s: offer.expires_at },
    { name: 'rekey with the proof', offer: rekeyOffer, ...base, claim: rekeyClaim },
    { name: 'rekey without a proof', offer: rekeyOffer, ...base, claim: { ...rekeyClaim, proof: null } },
    { name: 'rekey proof over another message', offer: rekeyOffer, ...base, claim: { ...rekeyClaim, proof: { old_pubkey: oldPub, sig: toHex(signRaw(Buffer.from(oldSeed, 'hex'), Buffer.from('x'))) } } },
    { name: 'rekey by a plain offer: the key is not retired here', offer, ...base, claim: rekeyClaim },
    { name: 'rekey by a plain offer: a retired key', offer, ...base, claim: rekeyClaim, retired: [oldPub] },
  ];
  return {
    code,
    code_sha256: pairCodeHash(code),
    offer_text: offerText(offer),
    claim_body: encodeClaim(claim),
    rekey: { old_seed: oldSeed, old_pubkey: oldPub, claimer_envoy: CLAIMER, answerer_envoy: ANSWERER, message_hex: Buffer.from(msg).toString('hex'), sig, claim_body: encodeClaim(rekeyClaim) },
    answer_body: encodeAnswer(answer),
    decisions: fx.map((f) => ({ ...f, expect: runDecision({ ...f, expect: { ok: false, code: '', offer: null } }) })),
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(vectorDir(), PAIR_FILE), serialize(buildPairVectors()));
}
