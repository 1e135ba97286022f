// Two public vector sets nobody here wrote (test/testdata/README.md): Wycheproof's Ed25519
// verification vectors through verifyRaw, and the RFC 8785 reference samples through
// parseStrictJson + canonicalize. The copies are checked against their git blob ids first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize, fromHex, parseStrictJson, verifyRaw } from '../../src/trust/index.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'testdata');

function gitBlobId(bytes: Buffer): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

test('the copies are byte for byte the published files (git blob ids from the README)', () => {
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `([^`]+)` \| `([0-9a-f]{40})` \|$/gm)];
  assert.equal(rows.length, 19);
  for (const [, file, id] of rows) assert.equal(gitBlobId(readFileSync(join(dir, file!))), id, file);
});

interface WycheproofTest { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
interface Wycheproof { numberOfTests: number; testGroups: { type: string; publicKey: { pk: string }; tests: WycheproofTest[] }[] }

test('Wycheproof Ed25519: every vector gets its expected result through verifyRaw', () => {
  const w = JSON.parse(readFileSync(join(dir, 'wycheproof', 'ed25519_test.json'), 'utf8')) as Wycheproof;
  let run = 0;
  let accepted = 0;
  const wrong: string[] = [];
  for (const g of w.testGroups) {
    assert.equal(g.type, 'EddsaVerify');
    const pk = fromHex(g.publicKey.pk);
    for (const t of g.tests) {
      assert.notEqual(t.result, 'acceptable', `tcId ${t.tcId}: the file has no "acceptable" results`);
      const got = verifyRaw(pk, fromHex(t.msg), fromHex(t.sig));
      if (got !== (t.result === 'valid')) wrong.push(`tcId ${t.tcId} (${t.comment}; ${t.flags.join(',')}): expected ${t.result}, got ${String(got)}`);
      if (got) accepted++;
      run++;
    }
  }
  assert.deepEqual(wrong, []);
  assert.equal(run, w.numberOfTests);
  assert.equal(run, 151);
  assert.equal(accepted, 88);
});

test('RFC 8785: every reference input canonicalizes to its published output byte for byte', () => {
  const names = readdirSync(join(dir, 'jcs', 'input')).sort();
  assert.deepEqual(names, ['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  for (const name of names) {
    const input = readFileSync(join(dir, 'jcs', 'input', name));
    const expected = readFileSync(join(dir, 'jcs', 'output', name));
    const hex = readFileSync(join(dir, 'jcs', 'outhex', name.replace(/\.json$/, '.txt')), 'utf8');
    assert.deepEqual(Buffer.from(hex.trim().split(/\s+/).join(''), 'hex'), expected, `outhex/${name} spells output/${name}`);
    const got = Buffer.from(canonicalize(parseStrictJson(input, { what: name })), 'utf8');
    assert.equal(got.toString('hex'), expected.toString('hex'), name);
  }
});
