// The envelope gossip vectors: the checked-in JSON is the specification of the digest and
// the four bodies. A change to the digest's bytes, a parser's verdict or a receiver rule's
// outcome fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../src/trust/index.js';
import { DIGEST_DOMAIN, computeDigest, parseAllAnswer, parseDigest, parseEnvelopePost, parsePostAnswer, GOSSIP_REFUSAL_CODES } from '../../src/swarm/index.js';
import { GOSSIP_FILE, runBody, runReceive, type GossipVectors } from './gossip-vectors.js';
import { vectorDir } from '../vectors/generate.js';

const v = JSON.parse(readFileSync(join(vectorDir(), GOSSIP_FILE), 'utf8')) as GossipVectors;

test('each digest is sha256 of the recorded preimage, and recomputes byte for byte from its entries', () => {
  assert.equal(v.digest_domain, DIGEST_DOMAIN);
  for (const d of v.digests) {
    const mine = computeDigest(d.project_id, d.entries);
    assert.deepEqual(mine, d.digest, d.name);
    assert.equal(mine.hash, sha256Hex(d.preimage), `${d.name}: the preimage`);
    assert.deepEqual(computeDigest(d.project_id, d.entries, true), d.bucketed, `${d.name}: buckets`);
    assert.deepEqual(parseDigest(JSON.stringify(d.bucketed), d.project_id), d.bucketed, `${d.name}: parses back`);
  }
});

test('the example POST, its answer and the `all` body parse as recorded', () => {
  const pid = v.digests[1]!.project_id;
  assert.equal(parseEnvelopePost(v.post.body).envelopes.length, 1);
  assert.equal(parsePostAnswer(v.post.answer).accepted.length, 1);
  assert.equal(parseAllAnswer(v.all.body, pid).revokes.length, 1);
});

test('every receive fixture gets its recorded outcome, and every gossip refusal code is exercised', () => {
  const pid = v.digests[1]!.project_id;
  for (const fx of v.receive) assert.deepEqual(runReceive(fx, pid), fx.expect, fx.name);
  for (const code of GOSSIP_REFUSAL_CODES) assert.ok(v.receive.some((fx) => fx.expect.refused.includes(code)) || code === 'E_GOSSIP_FLOOD', `no fixture for ${code}`);
  for (const code of ['E_NOT_ADMIN', 'E_WRONG_PROJECT', 'E_BAD_SIGNATURE', 'E_REVOKER_REVOKED']) assert.ok(v.receive.some((fx) => fx.expect.refused.includes(code)), code);
});

test('every body fixture gets its recorded verdict', () => {
  for (const fx of v.bodies) assert.equal(runBody(fx), fx.code, fx.name);
});

test('wire-formats.md shows the digest example and the POST body byte for byte, and gitback.md names every gossip code', () => {
  const root = join(vectorDir(), '..', '..');
  const wire = readFileSync(join(root, 'docs', 'wire-formats.md'), 'utf8');
  const gitback = readFileSync(join(root, 'docs', 'gitback.md'), 'utf8');
  const d = v.digests[1]!;
  assert.ok(wire.includes(JSON.stringify(d.digest)), 'the digest');
  assert.ok(wire.includes(v.post.answer), 'the POST answer');
  for (const e of d.entries) assert.ok(wire.includes(`${e.kind}:${e.id}`), 'the preimage lines');
  for (const code of GOSSIP_REFUSAL_CODES) {
    assert.ok(wire.includes(code), `wire-formats.md: ${code}`);
    assert.ok(gitback.includes(code), `gitback.md: ${code}`);
  }
});
