// The gitback announce and manifest vectors: the checked-in JSON is the specification of
// both formats. A change to a line's parse, a refusal code, the manifest's canonical bytes,
// its id, its signature or any verification outcome fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, domainTag, fromHex, signRaw, toHex } from '../../src/trust/index.js';
import { ANNOUNCE_REFUSAL_CODES, MANIFEST_REFUSAL_CODES, REPLICATION_REFUSAL_CODES, encodeAnnounceLine, manifestId, manifestSigningMessage, parseAnnounceLine } from '../../src/swarm/index.js';
import { ANNOUNCE_FILE, MANIFEST_FILE, announceCode, runManifestFixture, vectorDir, type AnnounceVectors, type ManifestVectors } from './vectors.js';
import { seedOf } from './fixtures.js';

const load = <T>(name: string): T => JSON.parse(readFileSync(join(vectorDir(), name), 'utf8')) as T;
const announce = load<AnnounceVectors>(ANNOUNCE_FILE);
const manifest = load<ManifestVectors>(MANIFEST_FILE);

test('every valid announce line parses to the recorded announce and encodes back to the same line', () => {
  for (const v of announce.valid) {
    const r = parseAnnounceLine(v.line);
    assert.ok(r.ok, `${v.name}: refused`);
    assert.deepEqual(r.announce, v.announce, v.name);
    assert.equal(encodeAnnounceLine(r.announce), v.reencoded, v.name);
    assert.equal(v.reencoded, v.line, `${v.name}: the line an envoy sends is the line it parses`);
  }
});

test('every refused announce gets its recorded code, and every code is exercised', () => {
  for (const v of announce.invalid) assert.equal(announceCode(v), v.code, v.name);
  for (const code of ANNOUNCE_REFUSAL_CODES) assert.ok(announce.invalid.some((v) => v.code === code), `no vector for ${code}`);
});

test('the manifest example is byte for byte: tag, canonical text, signing message, id, signature', () => {
  const { example } = manifest;
  assert.equal(manifest.domain_tag_hex, toHex(Buffer.from(domainTag('gitback-manifest'), 'utf8')));
  assert.equal(Buffer.from(manifest.domain_tag_hex, 'hex').toString('latin1'), 'vigo/gitback-manifest/v1\u0000');
  const { sig, ...rest } = example.manifest;
  assert.equal(canonicalize(rest), example.canonical);
  assert.equal(toHex(manifestSigningMessage(example.manifest)), example.signing_message_hex);
  assert.equal(example.signing_message_hex, manifest.domain_tag_hex + Buffer.from(example.canonical, 'utf8').toString('hex'));
  assert.equal(manifestId(example.manifest), example.id);
  // Ed25519 is deterministic: re-signing with the pusher's seed gives the recorded signature.
  assert.equal(toHex(signRaw(seedOf(example.signer_seed_of), fromHex(example.signing_message_hex))), sig);
});

test('every manifest fixture gets its recorded outcome, and every refusal code is exercised', () => {
  for (const fx of manifest.fixtures) assert.deepEqual(runManifestFixture(fx), fx.expect, `${fx.name}: ${fx.description}`);
  for (const code of MANIFEST_REFUSAL_CODES) assert.ok(manifest.fixtures.some((f) => !f.expect.ok && f.expect.code === code), `no fixture for ${code}`);
});

test('wire-formats.md shows the manifest example byte for byte, and gitback.md names every refusal code', () => {
  const root = join(vectorDir(), '..', '..');
  const wire = readFileSync(join(root, 'docs', 'wire-formats.md'), 'utf8');
  const gitback = readFileSync(join(root, 'docs', 'gitback.md'), 'utf8');
  const { example } = manifest;
  assert.ok(wire.includes(`\n${example.canonical}\n`), 'canonical bytes');
  assert.ok(wire.replace(/\n/g, '').includes(example.signing_message_hex), 'signing message');
  assert.ok(wire.includes(example.id) && wire.includes(example.manifest.sig), 'id and signature');
  for (const code of [...MANIFEST_REFUSAL_CODES, ...ANNOUNCE_REFUSAL_CODES]) assert.ok(wire.includes(code), `wire-formats.md: ${code}`);
  for (const code of [...REPLICATION_REFUSAL_CODES, ...MANIFEST_REFUSAL_CODES, ...ANNOUNCE_REFUSAL_CODES]) assert.ok(gitback.includes(code), `gitback.md: ${code}`);
});
