// The ops-puddle wire formats (docs/wire-formats.md §23) against the frozen vectors in
// test/vectors/ops-puddle.json: every valid example parses to itself, every invalid one is
// refused naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRoot } from '../helpers/program.js';
import { parseHelperRequest, parseMembersDoc, parsePairClaimAnswer, parsePairClaimRequest } from '../../src/wire/ops-puddle.js';

interface Vectors {
  pair_claim_request: { valid: { name: string; json: unknown }[]; invalid: { name: string; json: unknown; message: string }[] };
  pair_claim_answer: { valid: { name: string; json: unknown }[]; invalid: { name: string; json: unknown; message: string }[] };
  members_doc: { invalid: { name: string; json: unknown; message: string }[] };
  helper_request: { valid: { name: string; line: string; request: unknown }[]; invalid: { name: string; line: string; code: string }[] };
}

const v = JSON.parse(readFileSync(join(checkoutRoot, 'test', 'vectors', 'ops-puddle.json'), 'utf8')) as Vectors;

test('pair-claim request and answer: valid vectors parse to themselves; invalid ones are refused naming the field', () => {
  for (const x of v.pair_claim_request.valid) assert.deepEqual(parsePairClaimRequest(x.json), x.json, x.name);
  for (const x of v.pair_claim_request.invalid) assert.throws(() => parsePairClaimRequest(x.json), (e: Error) => e.message.includes(x.message), x.name);
  for (const x of v.pair_claim_answer.valid) assert.deepEqual(parsePairClaimAnswer(x.json), x.json, x.name);
  for (const x of v.pair_claim_answer.invalid) assert.throws(() => parsePairClaimAnswer(x.json), (e: Error) => e.message.includes(x.message), x.name);
});

test('puddle.sock request lines: the three requests parse; anything else is E_BAD_REQUEST', () => {
  for (const x of v.helper_request.valid) assert.deepEqual(parseHelperRequest(x.line), x.request, x.name);
  for (const x of v.helper_request.invalid) {
    const r = parseHelperRequest(x.line);
    assert.ok('ok' in r && r.ok === false && r.code === x.code, x.name);
  }
});

test('member list docs: malformed ones are refused naming the field', () => {
  for (const x of v.members_doc.invalid) assert.throws(() => parseMembersDoc(x.json), (e: Error) => e.message.includes(x.message), x.name);
});
