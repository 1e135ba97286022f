// The revocation set as a pure function of the SET of envelopes held (issue 8): gossip
// delivers envelopes in any order, so the outcome may depend on which envelopes are held,
// never on the order they arrived in. Checked against a direct recursive reading of the
// rule ("a revoke stands iff no standing revoke dated strictly before it names a token of
// its signer's chain"), and on the revenge story an operator would tell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  admitRevoke,
  effectiveRevocations,
  envelopeId,
  mintBootstrapToken,
  mintChildToken,
  mintLeave,
  mintRevoke,
  resolveRevocations,
  seedSigner,
  tokenId,
  verifyChain,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
  type Signer,
  type Token,
} from '../../src/trust/index.js';

const T0 = 1_764_000_000;
const NOW = T0 + 86_400;
const signer = (n: number): Signer => seedSigner(new Uint8Array(32).fill(n));

interface World {
  pid: string;
  root: Token;
  admins: { s: Signer; chain: Token[] }[];
  members: Token[][];
  revokes: RevokeEnvelope[];
  leaves: LeaveEnvelope[];
}

// founder; admins a, b (under the founder), c (under a), d (under c); members m1 (under b), m2 (under d).
// A pool of revokes among them at a few distinct seconds (ties included) and two leaves.
const world: Promise<World> = (async () => {
  const f = signer(1);
  const root = await mintBootstrapToken(f, 'team', T0);
  const [a, b, c, d] = [signer(2), signer(3), signer(4), signer(5)];
  const ta = await mintChildToken(f, [root], a.publicKey, 'admin', T0 + 10, null);
  const tb = await mintChildToken(f, [root], b.publicKey, 'admin', T0 + 10, null);
  const tc = await mintChildToken(a, [root, ta], c.publicKey, 'admin', T0 + 20, null);
  const td = await mintChildToken(c, [root, ta, tc], d.publicKey, 'admin', T0 + 30, null);
  const m1 = await mintChildToken(b, [root, tb], signer(6).publicKey, 'member', T0 + 40, null);
  const m2 = await mintChildToken(d, [root, ta, tc, td], signer(7).publicKey, 'member', T0 + 40, null);
  const admins = [
    { s: f, chain: [root] },
    { s: a, chain: [root, ta] },
    { s: b, chain: [root, tb] },
    { s: c, chain: [root, ta, tc] },
    { s: d, chain: [root, ta, tc, td] },
  ];
  const targets = [ta, tb, tc, td, m1, m2];
  const revokes: RevokeEnvelope[] = [];
  for (const adm of admins) {
    for (const t of targets) {
      const own = adm.chain.slice(0, -1).some((x) => tokenId(x) === tokenId(t));
      if (own) continue; // E_REVOKE_ANCESTOR: never verifies
      // each revoke at three seconds, so subsets hold ties, cycles and out-of-order pairs
      for (const at of [T0 + 100, T0 + 200, T0 + 300]) revokes.push(await mintRevoke(adm.s, adm.chain, [], tokenId(t), null, at));
    }
  }
  const leaves = [await mintLeave(c, [root, ta, tc], [], T0 + 250), await mintLeave(signer(6), [root, tb, m1], [], T0 + 150)];
  return { pid: root.project_id, root, admins, members: [[root, tb, m1], [root, ta, tc, td, m2]], revokes, leaves };
})();

function summary(s: RevocationSet): unknown {
  return {
    revoked: [...s.revoked].sort(),
    revokedAt: [...s.revokedAt].sort(),
    left: [...s.left].sort(),
    standing: s.standing,
    refused: s.refused.map((r) => [r.id, r.code]),
  };
}

/** The rule read directly: stands(r) iff no standing s with s.t < r.t names a token of r's signer chain (or its leaf left before r). */
function reference(revokes: RevokeEnvelope[], leaves: LeaveEnvelope[]): Set<string> {
  const memo = new Map<string, boolean>();
  const byId = new Map(revokes.map((r) => [envelopeId(r), r]));
  const stands = (id: string): boolean => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    const r = byId.get(id)!;
    const chain = r.signer_chain.map((t) => ({ id: tokenId(t), at: t.issued_at }));
    let ok = true;
    for (const [sid, s] of byId) {
      if (s.issued_at < r.issued_at && chain.some((t) => t.id === s.token_id && s.issued_at + 300 >= t.at) && stands(sid)) ok = false;
    }
    const leaf = chain[chain.length - 1]!.id;
    if (leaves.some((l) => l.token_id === leaf && l.issued_at < r.issued_at)) ok = false;
    memo.set(id, ok);
    return ok;
  };
  return new Set([...byId.keys()].filter(stands));
}

test('the revocation set depends on the set of envelopes, never on their order (and matches the rule read directly)', async () => {
  const w = await world;
  fc.assert(
    fc.property(
      fc.subarray(w.revokes, { minLength: 0 }),
      fc.subarray(w.leaves),
      fc.array(fc.nat(), { maxLength: 4 }),
      (revs, lvs, dups) => {
        const withDups = [...revs, ...dups.filter(() => revs.length > 0).map((i) => revs[i % revs.length]!)];
        const a = resolveRevocations(withDups, lvs);
        const shuffled = fc.sample(fc.shuffledSubarray(withDups, { minLength: withDups.length, maxLength: withDups.length }), 1)[0]!;
        const b = resolveRevocations(shuffled, [...lvs].reverse());
        assert.deepEqual(summary(b), summary(a));
        assert.deepEqual(new Set(a.standing), reference(revs, lvs));
      },
    ),
    { numRuns: 300 },
  );
});

test('effectiveRevocations verifies raw envelopes first, in any order: a forged one is refused with its code', async () => {
  const w = await world;
  const forged = { ...w.revokes[0]!, reason: 'changed after signing' };
  const set = effectiveRevocations(w.pid, NOW, [forged, ...w.revokes.slice(0, 5)], w.leaves);
  const again = effectiveRevocations(w.pid, NOW, [...w.revokes.slice(0, 5).reverse(), forged], [...w.leaves].reverse());
  assert.deepEqual(summary(again), summary(set));
  assert.ok(set.refused.some((r) => r.code === 'E_BAD_SIGNATURE'));
});

test('revenge: an admin revoked by the founder cannot revoke afterwards; what it signed before stands; admission agrees with the set', async () => {
  const w = await world;
  const [founder, alice, bob] = w.admins;
  const memberOfBob = w.members[0]!;
  const revokeAlice = await mintRevoke(founder!.s, founder!.chain, [], tokenId(alice!.chain[1]!), 'compromised', T0 + 1000);
  const revengeLate = await mintRevoke(alice!.s, alice!.chain, [], tokenId(bob!.chain[1]!), 'revenge', T0 + 1001);
  const early = await mintRevoke(alice!.s, alice!.chain, [], tokenId(memberOfBob[2]!), null, T0 + 999);
  const held = resolveRevocations([revokeAlice], []);
  assert.throws(() => admitRevoke(revengeLate, w.pid, NOW, held), { code: 'E_REVOKER_REVOKED' });
  assert.equal(admitRevoke(early, w.pid, NOW, held).token_id, tokenId(memberOfBob[2]!));
  // at use, whichever arrived first: bob keeps access, alice does not, the early revoke stands
  for (const order of [[revengeLate, revokeAlice, early], [early, revokeAlice, revengeLate], [revokeAlice, revengeLate, early]]) {
    const set = resolveRevocations(order, []);
    const check = (chain: Token[], s: Signer) => verifyChain({ projectId: w.pid, chain, delegations: [], revoked: set.revoked, revokedAt: set.revokedAt, left: set.left, now: NOW, presenter: s.publicKey });
    assert.equal(check(bob!.chain, bob!.s).ok, true, 'bob keeps access');
    const a = check(alice!.chain, alice!.s);
    assert.equal(!a.ok && a.code, 'E_REVOKED');
    const m = check(memberOfBob, signer(6));
    assert.equal(!m.ok && m.code, 'E_REVOKED', 'the revoke alice signed before her revocation stands');
    assert.deepEqual(set.refused.map((r) => [r.id, r.code]), [[envelopeId(revengeLate), 'E_REVOKER_REVOKED']]);
  }
});

test('a token issued after an admin was revoked is immune to that admin’s backdated revokes', async () => {
  const w = await world;
  const [founder, alice, bob] = w.admins;
  const revokeAlice = await mintRevoke(founder!.s, founder!.chain, [], tokenId(alice!.chain[1]!), null, T0 + 1000);
  // the founder re-invites bob's member after the attack; alice (revoked, key still in hand) backdates a revoke of the new token
  const fresh = await mintChildToken(bob!.s, bob!.chain, signer(6).publicKey, 'member', T0 + 5000, null);
  const backdated = await mintRevoke(alice!.s, alice!.chain, [], tokenId(fresh), null, T0 + 999);
  const set = resolveRevocations([revokeAlice, backdated], []);
  assert.equal(set.revoked.has(tokenId(fresh)), true, 'the backdated revoke itself stands (issued_at is the signer’s claim)');
  const r = verifyChain({ projectId: w.pid, chain: [...bob!.chain, fresh], delegations: [], revoked: set.revoked, revokedAt: set.revokedAt, left: set.left, now: NOW, presenter: signer(6).publicKey });
  assert.equal(r.ok, true, 'but it names a token that did not exist at its date, so it does not count');
});
