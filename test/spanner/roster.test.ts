// The admissions roster merge (issue 13 item 2): the stories an operator tells about a
// spanner's roster, and the CRDT laws checked by fast-check over a pool of signed rows
// that covers every rule (chains, same-second chains, the founder's revocations, refused
// revocations by other bolts and of the founder, key pins, strangers, invites).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { emptyRoster, isInviteConsumed, liveBolts, mergeRows, rosterBolts, rosterDigest, rowId, type RosterRow, type RosterState } from '../../src/spanner/index.js';
import { admit, consume, ctxOf, pk, revoke, SPANNER_ID, T0, tokenHash } from './fixtures.js';

const ctx = ctxOf('bolt-a');
const live = (s: RosterState, at: number): string[] => liveBolts(s, at).map((b) => b.bolt_id);
const merge = (s: RosterState, rows: unknown[]) => mergeRows(s, rows, ctx);

test('init, invite and join: the founder admits itself, then admits two bolts; all three are live', async () => {
  const rows = [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-b', 'bolt-c', T0 + 20)];
  const r = merge(emptyRoster(), rows);
  assert.deepEqual(r.refused, []);
  assert.equal(r.accepted.length, 3);
  assert.deepEqual(live(r.state, T0 + 30), ['bolt-a', 'bolt-b', 'bolt-c']);
  assert.deepEqual(live(r.state, T0 + 15), ['bolt-a', 'bolt-b'], 'bolt-c is not live before it was admitted');
  assert.equal(r.state.root?.pubkey, pk('bolt-a'));
  // The same rows in the other order, twice over: same digest.
  const again = merge(merge(emptyRoster(), [...rows].reverse()).state, rows);
  assert.equal(rosterDigest(again.state), rosterDigest(r.state));
  assert.deepEqual(again.accepted, [], 'merging rows already held accepts nothing new');
});

test('a forged row, a row for another spanner and a stranger self-admit are refused and the roster is unchanged', async () => {
  const heldB = await admit('bolt-a', 'bolt-b', T0 + 10);
  const base = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), heldB]).state;
  const forged = { ...(await admit('bolt-a', 'bolt-m', T0 + 20)), patterns: ['*'] }; // patterns widened after signing
  // A held row, widened, under its own (held) signature: not mistaken for the row we hold.
  const widened = merge(base, [{ ...heldB, patterns: ['*'] }, { ...heldB, patterns: [...heldB.patterns, '*'] }]);
  assert.deepEqual(widened.refused.map((x) => x.code), ['E_BAD_SIGNATURE', 'E_BAD_SIGNATURE']);
  assert.deepEqual(merge(base, [{ ...heldB }]).refused, [], 'an exact copy of a held row is simply held already');
  const otherSpanner = await admit('bolt-a', 'bolt-m', T0 + 20, { spanner_id: 'acme-staging' });
  const strangerRoot = await admit('mallory', 'mallory', T0); // mallory founds a "spanner" of her own
  const unknown = { ...(await admit('bolt-a', 'bolt-m', T0 + 20)), role: 'admin' };
  const r = merge(base, [forged, otherSpanner, strangerRoot, unknown]);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_BAD_SIGNATURE', 'E_WRONG_SPANNER', 'E_NOT_FOUNDER', 'E_UNKNOWN_FIELD']);
  assert.match(r.refused[3]!.message, /\.role: unknown field/);
  assert.equal(r.state, base, 'the state object is the one we had');
  assert.deepEqual(live(r.state, T0 + 30), ['bolt-a', 'bolt-b']);
});

test('a row from a bolt that was never admitted is kept aside, and counts once its admission arrives', async () => {
  const base = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0)]).state;
  const byB = await admit('bolt-b', 'bolt-c', T0 + 20); // bolt-b's admission has not reached us yet
  const r1 = merge(base, [byB]);
  assert.deepEqual(r1.refused.map((x) => x.code), ['E_SIGNER_NOT_LIVE']);
  assert.equal(rosterDigest(r1.state), rosterDigest(base), 'a row kept aside is not in the digest');
  assert.equal(r1.state.pending.size, 1);
  const r2 = merge(r1.state, [await admit('bolt-a', 'bolt-b', T0 + 10)]);
  assert.deepEqual(r2.refused, []);
  assert.deepEqual(r2.accepted.map((x) => (x as { bolt_id: string }).bolt_id).sort(), ['bolt-b', 'bolt-c']);
  assert.deepEqual(live(r2.state, T0 + 30), ['bolt-a', 'bolt-b', 'bolt-c']);
});

test('a row signed before its signer was admitted is refused: live means admitted at or before the row', async () => {
  const s = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10)]).state;
  const early = await admit('bolt-b', 'bolt-c', T0 + 9); // dated a second before bolt-b was admitted
  const sameSecond = await admit('bolt-b', 'bolt-d', T0 + 10);
  const r = merge(s, [early, sameSecond]);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_SIGNER_NOT_LIVE']);
  assert.deepEqual(live(r.state, T0 + 20), ['bolt-a', 'bolt-b', 'bolt-d']);
});

test('a revocation beats an admission: revoked at t, not live from t on, and never admitted again', async () => {
  const s = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-a', 'bolt-c', T0 + 10)]).state;
  const r = merge(s, [await revoke('bolt-a', 'bolt-c', T0 + 50, 'disk failed')]);
  assert.deepEqual(r.refused, []);
  assert.deepEqual(live(r.state, T0 + 49), ['bolt-a', 'bolt-b', 'bolt-c']);
  assert.deepEqual(live(r.state, T0 + 50), ['bolt-a', 'bolt-b']);
  const list = rosterBolts(r.state, T0 + 60);
  assert.deepEqual(list.map((b) => [b.bolt_id, b.status]), [['bolt-a', 'live'], ['bolt-b', 'live'], ['bolt-c', 'revoked']]);
  assert.equal(list[2]!.revoked?.reason, 'disk failed');
  // Re-admitting the revoked key, under its own bolt id or another, is refused.
  const readmit = merge(r.state, [await admit('bolt-a', 'bolt-c', T0 + 70, { bolt_id: 'bolt-c2' })]);
  assert.deepEqual(readmit.refused.map((x) => x.code), ['E_REVOKED']);
  assert.deepEqual(live(readmit.state, T0 + 80), ['bolt-a', 'bolt-b']);
  // A revocation may arrive before the admission it names: the admission then never counts.
  const pre = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await revoke('bolt-a', 'bolt-x', T0 + 5)]).state;
  const late = merge(pre, [await admit('bolt-a', 'bolt-x', T0 + 6)]);
  assert.deepEqual(late.refused.map((x) => x.code), ['E_REVOKED']);
});

test('a bolt key is pinned at admission: a second admit of the same bolt id with another key is refused', async () => {
  const s = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10)]).state;
  const swap = await admit('bolt-a', 'bolt-b', T0 + 20, { key: 'mallory' }); // "bolt-b" with mallory's key
  const twice = await admit('bolt-a', 'bolt-b', T0 + 30, { bolt_id: 'bolt-b-again' }); // bolt-b's key under another id
  const r = merge(s, [swap, twice]);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_KEY_PINNED', 'E_KEY_PINNED']);
  assert.match(r.refused[0]!.message, /bolt bolt-b is pinned to key/);
  assert.equal(r.state.bolts.get(pk('bolt-b'))?.bolt_id, 'bolt-b');
  assert.equal(r.state.bolts.has(pk('mallory')), false);
});

test('rows a revoked bolt signed before its revocation are kept; those after are refused, also when the revocation arrives later', async () => {
  const base = [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10)];
  const before = await admit('bolt-b', 'bolt-d', T0 + 20);
  const after = await admit('bolt-b', 'bolt-e', T0 + 80);
  const inviteAfter = await consume('bolt-b', 'inv-1', T0 + 90);
  const s = merge(emptyRoster(), [...base, before, after, inviteAfter]).state;
  assert.deepEqual(live(s, T0 + 100), ['bolt-a', 'bolt-b', 'bolt-d', 'bolt-e']);
  assert.equal(isInviteConsumed(s, tokenHash('inv-1')), true);

  const r = merge(s, [await revoke('bolt-a', 'bolt-b', T0 + 50, 'key leaked')]);
  assert.deepEqual(r.refused.map((x) => [x.code, rowId(x.row as RosterRow)]).sort(), [['E_SIGNER_REVOKED', rowId(after)], ['E_SIGNER_REVOKED', rowId(inviteAfter)]].sort());
  assert.deepEqual(live(r.state, T0 + 100), ['bolt-a', 'bolt-d'], 'bolt-d (admitted before) stays; bolt-e (after) goes');
  assert.equal(isInviteConsumed(r.state, tokenHash('inv-1')), false);
  // The same set in one merge gives the same roster.
  const once = merge(emptyRoster(), [...base, before, after, inviteAfter, await revoke('bolt-a', 'bolt-b', T0 + 50, 'key leaked')]);
  assert.equal(rosterDigest(once.state), rosterDigest(r.state));
  assert.deepEqual(live(once.state, T0 + 100), ['bolt-a', 'bolt-d']);
});

test('revenge: bolt-c, removed by the founder, signs revocations of bolt-a and bolt-b, and none counts', async () => {
  // bolt-c was removed (its key perhaps stolen); the key goes on signing revocations of the
  // others, dated after its removal and backdated to before it.
  const base = [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-a', 'bolt-c', T0 + 10), await revoke('bolt-a', 'bolt-c', T0 + 50, 'key stolen')];
  const revenge = [await revoke('bolt-c', 'bolt-b', T0 + 60), await revoke('bolt-c', 'bolt-a', T0 + 61), await revoke('bolt-c', 'bolt-b', T0 + 40, 'backdated')];
  const s = merge(emptyRoster(), base).state;
  const r = merge(s, revenge);
  assert.deepEqual(r.refused.map((x) => [rowId(x.row as RosterRow), x.code]).sort(), [[rowId(revenge[0]!), 'E_REVOKE_NOT_FOUNDER'], [rowId(revenge[1]!), 'E_REVOKE_ROOT'], [rowId(revenge[2]!), 'E_REVOKE_NOT_FOUNDER']].sort());
  assert.match(r.refused.find((x) => x.code === 'E_REVOKE_NOT_FOUNDER')!.message, /only the hub revokes; run `vigocli spanner bolt remove <bolt-id>` on the hub/);
  assert.deepEqual(r.accepted, []);
  assert.deepEqual(live(r.state, T0 + 100), ['bolt-a', 'bolt-b'], 'the founder and bolt-b stay live');
  assert.deepEqual([...r.state.revoked.keys()], [pk('bolt-c')], 'only bolt-c is revoked');
  // Whatever order the rows arrive in, and however grouped: the same roster.
  for (const order of [[...revenge, ...base], [...revenge.slice(0, 1), ...base, ...revenge.slice(1)]]) {
    let t = emptyRoster();
    for (const row of order) t = merge(t, [row]).state;
    assert.equal(rosterDigest(t), rosterDigest(r.state));
    assert.deepEqual(live(t, T0 + 100), ['bolt-a', 'bolt-b']);
  }
});

test('a revocation signed by a live bolt other than the founder is refused: only the hub removes bolts', async () => {
  const s = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-b', 'bolt-c', T0 + 20)]).state;
  const r = merge(s, [await revoke('bolt-b', 'bolt-c', T0 + 50, 'disk failed')]); // bolt-b is live, and admitted bolt-c
  assert.deepEqual(r.refused.map((x) => x.code), ['E_REVOKE_NOT_FOUNDER']);
  assert.match(r.refused[0]!.message, /not by the founder .*run `vigocli spanner bolt remove <bolt-id>` on the hub/);
  assert.deepEqual(live(r.state, T0 + 60), ['bolt-a', 'bolt-b', 'bolt-c']);
  assert.equal(r.state.revoked.size, 0);
  // The founder's revocation of the same key counts.
  const hub = merge(r.state, [await revoke('bolt-a', 'bolt-c', T0 + 70, 'disk failed')]);
  assert.deepEqual(hub.refused, []);
  assert.deepEqual(live(hub.state, T0 + 80), ['bolt-a', 'bolt-b']);
});

test('the founder cannot be revoked, by itself or by another bolt, and its admissions keep counting', async () => {
  const s = merge(emptyRoster(), [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10)]).state;
  const r = merge(s, [await revoke('bolt-a', 'bolt-a', T0 + 50), await revoke('bolt-b', 'bolt-a', T0 + 51)]);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_REVOKE_ROOT', 'E_REVOKE_ROOT']);
  assert.match(r.refused[0]!.message, /the spanner's root of trust, which cannot be revoked/);
  assert.equal(r.state.revoked.size, 0);
  const later = merge(r.state, [await admit('bolt-a', 'bolt-c', T0 + 60)]);
  assert.deepEqual(later.refused, []);
  assert.deepEqual(live(later.state, T0 + 70), ['bolt-a', 'bolt-b', 'bolt-c']);
});

test('a revocation is never undone: a backdated revocation of the founder by the bolt it removed changes nothing', async () => {
  const base = [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-a', 'bolt-c', T0 + 10)];
  const aRevokesC = await revoke('bolt-a', 'bolt-c', T0 + 100);
  const cRevokesA = await revoke('bolt-c', 'bolt-a', T0 + 50); // dated before bolt-a revoked bolt-c
  const bRevokesC = await revoke('bolt-b', 'bolt-c', T0 + 20); // an earlier one, by a bolt without the authority
  for (const order of [[aRevokesC, cRevokesA, bRevokesC], [cRevokesA, bRevokesC, aRevokesC], [bRevokesC, aRevokesC, cRevokesA]]) {
    let s = merge(emptyRoster(), base).state;
    let seen = false;
    for (const row of order) {
      s = merge(s, [row]).state;
      if (seen) assert.ok(s.revoked.has(pk('bolt-c')), 'bolt-c stays revoked');
      seen ||= s.revoked.has(pk('bolt-c'));
    }
    assert.equal(s.revoked.get(pk('bolt-c'))?.revoked_at, T0 + 100);
    assert.deepEqual(live(s, T0 + 200), ['bolt-a', 'bolt-b']);
  }
});

// --- the CRDT laws -------------------------------------------------------------------------

async function pool(): Promise<unknown[]> {
  return [
    await admit('bolt-a', 'bolt-a', T0),
    await admit('bolt-a', 'bolt-a', T0 + 5, { bolt_id: 'bolt-a2' }), // the founder admits itself twice
    await admit('bolt-a', 'bolt-b', T0 + 10),
    await admit('bolt-b', 'bolt-c', T0 + 10), // same-second chain
    await admit('bolt-c', 'bolt-d', T0 + 10),
    await admit('bolt-d', 'bolt-e', T0 + 30),
    await admit('bolt-a', 'bolt-f', T0 + 40),
    await admit('bolt-f', 'bolt-b', T0 + 45, { key: 'mallory' }), // pin conflict on bolt-b
    await admit('bolt-b', 'bolt-g', T0 + 70), // after bolt-b's revocation below
    await admit('bolt-a', 'bolt-d', T0 + 75, { bolt_id: 'bolt-d2' }), // bolt-d's revoked key again
    await admit('stranger', 'bolt-h', T0 + 20),
    await admit('bolt-e', 'stranger', T0 + 35),
    await revoke('bolt-a', 'bolt-b', T0 + 60),
    await revoke('bolt-a', 'bolt-d', T0 + 50),
    await revoke('bolt-a', 'bolt-d', T0 + 55), // a second revocation of bolt-d: the earliest is shown
    await revoke('bolt-f', 'bolt-c', T0 + 50), // by a live bolt, not the founder
    await revoke('bolt-b', 'bolt-f', T0 + 65), // revenge: bolt-b, after its revocation
    await revoke('bolt-d', 'bolt-e', T0 + 40), // by bolt-d, live then (revoked at T0+50), not the founder
    await revoke('bolt-b', 'bolt-a', T0 + 61), // of the founder
    await revoke('bolt-a', 'bolt-a', T0 + 62), // the founder, of itself
    await revoke('bolt-a', 'bolt-x', T0 + 20), // names a key never admitted
    await revoke('bolt-a', 'bolt-y', T0 - 1), // dated before the founder's self-admit
    await revoke('stranger', 'bolt-a', T0 + 90),
    await consume('bolt-c', 'inv-1', T0 + 20),
    await consume('bolt-b', 'inv-2', T0 + 80), // after bolt-b's revocation
    await consume('stranger', 'inv-3', T0 + 40),
    { ...(await admit('bolt-a', 'bolt-z', T0 + 15)), hostname: 'evil.example.net' },
  ];
}

function summary(s: RosterState): unknown {
  return {
    digest: rosterDigest(s),
    pending: [...s.pending.keys()].sort(),
    bolts: [...s.bolts.values()].map((b) => [b.bolt_id, b.pubkey, b.revoked?.revoked_at ?? null]).sort(),
    revoked: [...s.revoked].map(([k, r]) => [k, r.revoked_at]).sort(),
    consumed: [...s.consumed.keys()].sort(),
    refused: [...s.refusedRows].map(([id, r]) => [id, r.code]).sort(),
  };
}

test('CRDT: any order, grouping and duplication of the same rows gives the same state and digest, and no merge undoes a revocation', async () => {
  const rows = await pool();
  const all = merge(emptyRoster(), rows).state;
  const want = summary(all);
  // The pool exercises every merge rule.
  const codes = new Set([...all.refusedRows.values()].map((r) => r.code));
  for (const c of ['E_SIGNER_NOT_LIVE', 'E_SIGNER_REVOKED', 'E_KEY_PINNED', 'E_REVOKED', 'E_REVOKE_NOT_FOUNDER', 'E_REVOKE_ROOT']) assert.ok(codes.has(c as never), `pool covers ${c}`);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(rows.length - 1), { minLength: rows.length, maxLength: rows.length * 2 }),
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 20 }),
      async (picks, cuts) => {
        // Every row at least once, in an arbitrary order with duplicates, cut into batches.
        const seq = [...picks.map((i) => rows[i]!), ...rows.map((r, i) => (picks.includes(i) ? null : r)).filter((r) => r !== null)];
        let s = emptyRoster();
        let at = 0;
        let revokedSeen = new Set<string>();
        for (let c = 0; at < seq.length; c++) {
          const n = cuts[c % cuts.length]!;
          s = merge(s, seq.slice(at, at + n)).state;
          at += n;
          for (const k of revokedSeen) assert.ok(s.revoked.has(k), 'a revocation was undone by a merge');
          revokedSeen = new Set(s.revoked.keys());
        }
        assert.deepEqual(summary(s), want);
        // Merging two states' rows (associativity across bolts) gives the same again.
        const left = merge(emptyRoster(), seq.slice(0, seq.length >> 1)).state;
        const right = merge(emptyRoster(), seq.slice(seq.length >> 1)).state;
        const joined = merge(left, [...right.held.values(), ...right.pending.values()]).state;
        assert.deepEqual(summary(joined), want);
      },
    ),
    { numRuns: 150, seed: 1311 },
  );
  assert.equal(SPANNER_ID, 'acme-prod');
});

test('bounds: past 16,384 held rows, or 1,024 rows of unknown signers, a new row is refused E_ROSTER_FULL', async () => {
  const { MAX_ROSTER_ROWS, MAX_PENDING_ROWS } = await import('../../src/spanner/index.js');
  const rows: unknown[] = [await admit('bolt-a', 'bolt-a', T0)];
  for (let i = 1; i < MAX_ROSTER_ROWS; i++) rows.push(await consume('bolt-a', `inv-${i}`, T0 + 1));
  const full = merge(emptyRoster(), rows);
  assert.deepEqual(full.refused, []);
  assert.equal(full.state.held.size, MAX_ROSTER_ROWS);
  const one = merge(full.state, [await consume('bolt-a', 'inv-one-more', T0 + 2)]);
  assert.deepEqual(one.refused.map((x) => x.code), ['E_ROSTER_FULL']);
  assert.equal(rosterDigest(one.state), rosterDigest(full.state));

  const strangers: unknown[] = [];
  for (let i = 0; i <= MAX_PENDING_ROWS; i++) strangers.push(await consume('mallory', `spam-${i}`, T0 + 1));
  const spam = merge(merge(emptyRoster(), [rows[0]]).state, strangers);
  assert.equal(spam.state.pending.size, MAX_PENDING_ROWS);
  assert.equal(spam.refused.filter((x) => x.code === 'E_ROSTER_FULL').length, 1);
});
