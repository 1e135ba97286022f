// Generates test/vectors/spanner-roster.json from fixed seeds and times. Run
// `npm run build && node dist/test/spanner/generate-vectors.js` after a deliberate format
// change, review the diff and update docs/wire-formats.md "Spanner roster" to match. The
// tests never run this: test/spanner/vectors.test.ts checks the code against the JSON.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize, signingMessage, toHex } from '../../src/trust/index.js';
import { emptyRoster, mergeRows, rosterDigest, rowId, ROW_KINDS, verifyRow, type RosterRow } from '../../src/spanner/index.js';
import { rowDomainTagHex } from '../../src/wire/spanner-roster.js';
import { vectorDir, serialize } from '../vectors/generate.js';
import { admit, consume, ctxOf, key, NOT_CA_PEM, pk, revoke, seedOf, SPANNER_ID, T0 } from './fixtures.js';

export const NAMES = ['bolt-a', 'bolt-b', 'bolt-c', 'mallory'] as const;

function signedVector(name: string, signer: string, row: RosterRow): unknown {
  const { sig, ...body } = row;
  return { name, kind: row.kind, signer, object: row, canonical: canonicalize(body), signing_message_hex: toHex(signingMessage(row.kind, row)), id: rowId(row), sig };
}

export async function generate(): Promise<unknown> {
  const ctx = ctxOf('bolt-a');
  const founder = await admit('bolt-a', 'bolt-a', T0);
  const admitB = await admit('bolt-a', 'bolt-b', T0 + 60);
  const consumedB = await consume('bolt-a', 'invite-for-bolt-b', T0 + 60);
  const admitC = await admit('bolt-b', 'bolt-c', T0 + 120);
  const revokeC = await revoke('bolt-a', 'bolt-c', T0 + 3600, 'decommissioned'); // only the founder revokes
  const rows = [founder, admitB, consumedB, admitC, revokeC];
  const state = mergeRows(emptyRoster(), rows, ctx).state;

  const withField = (row: RosterRow, k: string, v: unknown): unknown => ({ ...row, [k]: v });
  const refusals: { name: string; description: string; row: unknown; expect: { code: string } }[] = [];
  const refuse = (name: string, description: string, row: unknown): void => {
    const c = verifyRow(row, ctx);
    if (c.ok) throw new Error(`vector ${name} verifies`);
    refusals.push({ name, description, row, expect: { code: c.code } });
  };
  refuse('tampered-patterns', 'bolt-b\'s patterns widened after signing', withField(admitB, 'patterns', ['*']));
  refuse('other-spanner', 'a row signed for spanner acme-staging', await admit('bolt-a', 'bolt-b', T0 + 60, { spanner_id: 'acme-staging' }));
  refuse('stranger-self-admit', 'mallory admits herself: only the founder does', await admit('mallory', 'mallory', T0));
  refuse('unknown-field', 'an admit row with an extra member "role"', withField(admitB, 'role', 'admin'));
  refuse('missing-field', 'a revoke row without its reason', (({ reason: _r, ...rest }) => rest)(revokeC));
  refuse('uppercase-key', 'a pubkey in uppercase hex', withField(admitB, 'pubkey', admitB.pubkey.toUpperCase()));
  refuse('not-a-ca', 'envoy_ca_pem holds a certificate that is not a CA', withField(admitB, 'envoy_ca_pem', NOT_CA_PEM));
  refuse('too-many-patterns', '65 hostname patterns', withField(admitB, 'patterns', Array.from({ length: 65 }, (_, i) => `h${i}.example.net`)));
  refuse('fractional-time', 'admitted_at is not an integer', withField(admitB, 'admitted_at', T0 + 60.5));
  refuse('wrong-kind', 'an unknown row kind', withField(admitB, 'kind', 'spanner-promote'));
  refuse('bad-peer-port', 'peer_addr with port 0', withField(admitB, 'peer_addr', 'bolt-b.example.net:0'));

  // Refusals that need the roster: each set of rows, merged at once, refuses the last with the code.
  const merges: { name: string; description: string; rows: RosterRow[]; expect: { refused_id: string; code: string } }[] = [];
  const mergeCase = async (name: string, description: string, more: RosterRow[]): Promise<void> => {
    const all = [...rows, ...more];
    const r = mergeRows(emptyRoster(), all, ctx);
    const last = more[more.length - 1]!;
    const why = r.state.refusedRows.get(rowId(last));
    if (why === undefined) throw new Error(`merge vector ${name} accepts its row`);
    merges.push({ name, description, rows: all, expect: { refused_id: rowId(last), code: why.code } });
  };
  await mergeCase('signer-never-admitted', 'a row signed by mallory, never admitted', [await admit('mallory', 'bolt-d', T0 + 200)]);
  await mergeCase('signed-before-admitted', 'bolt-b admits bolt-d at T0+59, a second before bolt-b was admitted', [await admit('bolt-b', 'bolt-d', T0 + 59)]);
  await mergeCase('signed-after-revocation', 'bolt-c admits bolt-d after its own revocation at T0+3600', [await admit('bolt-c', 'bolt-d', T0 + 3601)]);
  await mergeCase('readmit-revoked', 'bolt-a re-admits bolt-c\'s revoked key as bolt-c2', [await admit('bolt-a', 'bolt-c', T0 + 4000, { bolt_id: 'bolt-c2' })]);
  await mergeCase('key-pinned', 'bolt-a admits "bolt-b" again with mallory\'s key', [await admit('bolt-a', 'bolt-b', T0 + 300, { key: 'mallory' })]);
  await mergeCase('revoke-not-founder', 'bolt-b, live, revokes bolt-c: only the founder revokes', [await revoke('bolt-b', 'bolt-c', T0 + 3000)]);
  await mergeCase('revoke-revenge', 'bolt-c, revoked at T0+3600, revokes bolt-b at T0+3601', [await revoke('bolt-c', 'bolt-b', T0 + 3601)]);
  await mergeCase('revoke-root', 'the founder bolt-a revokes itself: the root cannot be revoked', [await revoke('bolt-a', 'bolt-a', T0 + 4000)]);

  const digestMsg = { v: 1, t: 'digest', spanner_id: SPANNER_ID, digest: rosterDigest(state), rows: state.held.size };
  const gossip = [
    { name: 'digest', description: 'the round\'s digest message', message: digestMsg, bytes: Buffer.byteLength(JSON.stringify(digestMsg)), expect: { ok: true } },
    { name: 'digest-unknown-field', description: 'a digest message with an extra member', message: { ...digestMsg, hint: 'x' }, bytes: 200, expect: { ok: false, code: 'E_UNKNOWN_FIELD' } },
    { name: 'too-large', description: 'a message of 1 MiB + 1 byte on the wire', message: digestMsg, bytes: 1048577, expect: { ok: false, code: 'E_MESSAGE_TOO_LARGE' } },
    { name: 'short-buckets', description: 'a pull whose bucket hashes are cut short', message: { v: 1, t: 'pull', spanner_id: SPANNER_ID, digest: rosterDigest(state), buckets: '00' }, bytes: 200, expect: { ok: false, code: 'E_MALFORMED' } },
  ];

  return {
    description: 'Spanner roster rows: signed vectors, refusals by verifyRow and by mergeRows, and the roster digest (docs/wire-formats.md "Spanner roster")',
    keys: Object.fromEntries(NAMES.map((n) => [n, { seed: toHex(seedOf(n)), public_key: pk(n) }])),
    spanner_id: SPANNER_ID,
    founder: pk('bolt-a'),
    t0: T0,
    domain_tags: Object.fromEntries(ROW_KINDS.map((k) => [k, rowDomainTagHex(k)])),
    signed: [
      signedVector('founder-self-admit', 'bolt-a', founder),
      signedVector('admit-bolt-b', 'bolt-a', admitB),
      signedVector('invite-consumed-bolt-b', 'bolt-a', consumedB),
      signedVector('admit-bolt-c', 'bolt-b', admitC),
      signedVector('revoke-bolt-c', 'bolt-a', revokeC),
    ],
    roster: {
      rows: rows.map(rowId),
      sorted_ids: [...state.held.keys()].sort(),
      digest: rosterDigest(state),
      live_at_t0_plus_3599: ['bolt-a', 'bolt-b', 'bolt-c'],
      live_at_t0_plus_3600: ['bolt-a', 'bolt-b'],
    },
    refusals,
    merge_refusals: merges,
    gossip,
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  void key('bolt-a');
  const out = join(vectorDir(), 'spanner-roster.json');
  writeFileSync(out, serialize(await generate()));
  console.log(`wrote ${out}`);
}
