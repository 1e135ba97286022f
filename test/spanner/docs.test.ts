// docs/wire-formats.md "Spanner roster" shows the vectors byte for byte, and docs/spanner.md
// names and explains every refusal code: checked here so the documentation cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROSTER_CODES } from '../../src/spanner/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (p: string): string => readFileSync(join(root, p), 'utf8');
const v = JSON.parse(read('test/vectors/spanner-roster.json')) as {
  domain_tags: Record<string, string>;
  signed: { name: string; canonical: string; signing_message_hex: string; id: string; sig: string }[];
  roster: { digest: string };
};

test('wire-formats.md shows the spanner roster vectors byte for byte', () => {
  const wire = read('docs/wire-formats.md');
  const section = wire.slice(wire.indexOf('## 16. Spanner roster'));
  assert.ok(section.length > 1000, 'the section exists');
  const unwrapped = section.replace(/\n/g, '');
  for (const hex of Object.values(v.domain_tags)) assert.ok(section.includes(hex));
  const shown = ['admit-bolt-b', 'revoke-bolt-c', 'invite-consumed-bolt-b'];
  for (const s of v.signed.filter((x) => shown.includes(x.name))) {
    assert.ok(section.includes(`\n${s.canonical}\n`), `${s.name}: canonical bytes`);
    assert.ok(section.includes(s.id), `${s.name}: id`);
  }
  const revoke = v.signed.find((x) => x.name === 'revoke-bolt-c')!;
  assert.ok(unwrapped.includes(revoke.signing_message_hex), 'revoke: signing message');
  assert.ok(section.includes(revoke.sig) && section.includes(v.signed.find((x) => x.name === 'admit-bolt-b')!.sig), 'signatures');
  assert.ok(section.includes(v.roster.digest), 'roster digest');
});

test('spanner.md names every roster refusal code', () => {
  const doc = read('docs/spanner.md');
  for (const code of ROSTER_CODES) assert.ok(doc.includes(`\`${code}\``), code);
});
