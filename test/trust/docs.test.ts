// docs/wire-formats.md shows the conformance vectors byte for byte, and docs/trust.md
// names every verifier code: both are checked here so the documentation cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRUST_ERROR_CODES } from '../../src/trust/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');
const objects = JSON.parse(read('test/vectors/objects.json')) as {
  project_id: { project_id: string };
  signed: { name: string; canonical: string; signing_message_hex: string; id: string; sig: string }[];
  invitation: { text: string };
  push_chain: { header: string };
};
const wire = read('docs/wire-formats.md');
const unwrapped = wire.replace(/\n/g, '');

test('wire-formats.md shows every signed vector byte for byte', () => {
  assert.ok(wire.includes(objects.project_id.project_id));
  for (const v of objects.signed) {
    assert.ok(wire.includes(`\n${v.canonical}\n`), `${v.name}: canonical bytes`);
    assert.ok(unwrapped.includes(v.signing_message_hex), `${v.name}: signing message`);
    assert.ok(wire.includes(v.id), `${v.name}: id`);
    assert.ok(wire.includes(v.sig), `${v.name}: signature`);
  }
  assert.ok(wire.includes(objects.invitation.text.replace(/\n$/, '')), 'invitation text');
  assert.ok(unwrapped.includes(objects.push_chain.header), 'X-Vigo-Chain header');
});

test('trust.md names every verifier error code', () => {
  const doc = read('docs/trust.md');
  for (const code of TRUST_ERROR_CODES) assert.ok(doc.includes(code), code);
});
