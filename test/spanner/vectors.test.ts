// The spanner roster's conformance vectors (test/vectors/spanner-roster.json): the checked-in
// JSON is the format. A change to canonical bytes, ids, signatures, the digest or a refusal
// code fails here. (Regenerate only after a deliberate change: see generate-vectors.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, fromHex, publicKeyFromSeed, signingMessage, signRaw, toHex } from '../../src/trust/index.js';
import { emptyRoster, liveBolts, mergeRows, parseGossipMessage, rosterDigest, RosterError, rowId, ROSTER_CODES, verifyRow, type RosterRow } from '../../src/spanner/index.js';
import { digestByDefinition } from '../../src/spanner/roster.js';
import { rowDomainTagHex } from '../../src/wire/spanner-roster.js';
import { vectorDir } from '../vectors/generate.js';

interface Vectors {
  keys: Record<string, { seed: string; public_key: string }>;
  spanner_id: string;
  founder: string;
  t0: number;
  domain_tags: Record<string, string>;
  signed: { name: string; kind: string; signer: string; object: RosterRow; canonical: string; signing_message_hex: string; id: string; sig: string }[];
  roster: { rows: string[]; sorted_ids: string[]; digest: string; live_at_t0_plus_3599: string[]; live_at_t0_plus_3600: string[] };
  refusals: { name: string; row: unknown; expect: { code: string } }[];
  merge_refusals: { name: string; rows: unknown[]; expect: { refused_id: string; code: string } }[];
  gossip: { name: string; message: unknown; bytes: number; expect: { ok: boolean; code?: string } }[];
}
const v = JSON.parse(readFileSync(join(vectorDir(), 'spanner-roster.json'), 'utf8')) as Vectors;
const ctx = { spannerId: v.spanner_id, founder: v.founder };

test('spanner vectors: keys, domain tags, canonical bytes, signatures and ids, byte for byte', () => {
  for (const [name, k] of Object.entries(v.keys)) assert.equal(toHex(publicKeyFromSeed(fromHex(k.seed))), k.public_key, name);
  for (const [kind, hex] of Object.entries(v.domain_tags)) {
    assert.equal(rowDomainTagHex(kind as never), hex);
    assert.equal(Buffer.from(hex, 'hex').toString('latin1'), `vigo/${kind}/v1\u0000`);
  }
  for (const s of v.signed) {
    const { sig, ...body } = s.object;
    assert.equal(canonicalize(body), s.canonical, s.name);
    assert.equal(toHex(signingMessage(s.kind, s.object)), s.signing_message_hex, s.name);
    assert.equal(s.signing_message_hex, v.domain_tags[s.kind]! + Buffer.from(s.canonical, 'utf8').toString('hex'), `${s.name}: tag ‖ canonical`);
    assert.equal(rowId(s.object), s.id, s.name);
    assert.equal(toHex(signRaw(fromHex(v.keys[s.signer]!.seed), fromHex(s.signing_message_hex))), sig, `${s.name}: Ed25519 is deterministic`);
    const c = verifyRow(s.object, ctx);
    assert.ok(c.ok, s.name);
  }
});

test('spanner vectors: the roster of the signed rows, its digest and who is live when', () => {
  const rows = v.signed.map((s) => s.object);
  assert.deepEqual(rows.map(rowId), v.roster.rows);
  const state = mergeRows(emptyRoster(), rows, ctx).state;
  assert.deepEqual([...state.held.keys()].sort(), v.roster.sorted_ids);
  assert.equal(rosterDigest(state), v.roster.digest);
  assert.equal(digestByDefinition(v.roster.sorted_ids), v.roster.digest, 'the digest is sha256(tag ‖ JCS(sorted ids))');
  assert.deepEqual(liveBolts(state, v.t0 + 3599).map((b) => b.bolt_id), v.roster.live_at_t0_plus_3599);
  assert.deepEqual(liveBolts(state, v.t0 + 3600).map((b) => b.bolt_id), v.roster.live_at_t0_plus_3600);
});

test('spanner vectors: every refused row gets its code, from verifyRow and from the merge', () => {
  const seen = new Set<string>();
  for (const r of v.refusals) {
    const c = verifyRow(r.row, ctx);
    assert.equal(c.ok ? 'ok' : c.code, r.expect.code, r.name);
    seen.add(r.expect.code);
  }
  for (const m of v.merge_refusals) {
    const r = mergeRows(emptyRoster(), m.rows, ctx);
    assert.equal(r.state.refusedRows.get(m.expect.refused_id)?.code, m.expect.code, m.name);
    seen.add(m.expect.code);
  }
  for (const g of v.gossip) {
    let got: string = 'ok';
    try {
      parseGossipMessage(g.message, g.bytes);
    } catch (e) {
      assert.ok(e instanceof RosterError, g.name);
      got = e.code;
    }
    assert.equal(got, g.expect.ok ? 'ok' : g.expect.code, g.name);
    if (!g.expect.ok) seen.add(g.expect.code!);
  }
  // Every code but the capacity bound (16,384 rows, shown in roster.test.ts) has a vector.
  assert.deepEqual(ROSTER_CODES.filter((c) => !seen.has(c)), ['E_ROSTER_FULL']);
});
