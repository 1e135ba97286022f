// The puddle pairing vectors (docs/wire-formats.md §20): the checked-in JSON is the
// specification. A change to the code hash, a body's bytes, the proof's signed message or a
// decision's outcome fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyRaw } from '../../src/trust/index.js';
import { encodeAnswer, encodeClaim, offerText, pairCodeHash, PAIR_REFUSAL_CODES, parseAnswer, parseClaim, parseOffer, rekeyProofMessage } from '../../src/wire/puddle-pair.js';
import { vectorDir } from '../vectors/generate.js';
import { PAIR_FILE, runDecision, type PairVectors } from './pair-vectors.js';

const v = JSON.parse(readFileSync(join(vectorDir(), PAIR_FILE), 'utf8')) as PairVectors;

test('code hash, offer, claim and answer bodies byte for byte', () => {
  assert.equal(pairCodeHash(v.code), v.code_sha256);
  assert.equal(offerText(parseOffer(v.offer_text, 'vector')), v.offer_text);
  assert.equal(encodeClaim(parseClaim(v.claim_body)), v.claim_body);
  assert.equal(encodeClaim(parseClaim(v.rekey.claim_body)), v.rekey.claim_body);
  assert.equal(encodeAnswer(parseAnswer(v.answer_body)), v.answer_body);
});

test('the rekey proof signs the recorded message, and the signature verifies', () => {
  const m = rekeyProofMessage({ codeSha256: v.code_sha256, oldPubkey: v.rekey.old_pubkey, claimerEnvoy: v.rekey.claimer_envoy, answererEnvoy: v.rekey.answerer_envoy });
  assert.equal(Buffer.from(m).toString('hex'), v.rekey.message_hex);
  assert.ok(Buffer.from(m).toString('utf8').startsWith('vigo/puddle-rekey-proof/v1\u0000'));
  assert.ok(verifyRaw(Buffer.from(v.rekey.old_pubkey, 'hex'), m, Buffer.from(v.rekey.sig, 'hex')));
});

test('every decision fixture gets its recorded verdict; wire-formats.md §20 names every refusal code', () => {
  for (const fx of v.decisions) assert.deepEqual(runDecision(fx), fx.expect, fx.name);
  const seen = new Set(v.decisions.map((d) => (d.expect.ok ? 'ok' : d.expect.code)));
  for (const c of ['ok', 'E_PAIR_GATE', 'E_PAIR_UNKNOWN_PEER', 'E_PAIR_NO_OFFER', 'E_PAIR_WRONG_CODE', 'E_PAIR_LOCKED', 'E_PAIR_USED', 'E_PAIR_EXPIRED', 'E_PAIR_PROOF']) assert.ok(seen.has(c), c);
  const wire = readFileSync(join(vectorDir(), '..', '..', 'docs', 'wire-formats.md'), 'utf8');
  for (const c of PAIR_REFUSAL_CODES) assert.ok(wire.includes(c), c);
  assert.ok(wire.includes(v.claim_body), 'the claim example byte for byte');
});
