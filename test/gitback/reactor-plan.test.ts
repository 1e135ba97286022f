// The root reactor's plan, driven directly: what the sweep observed in one user's project
// directory (the sentinels' bytes, the user's state) and in-memory stores go in, the
// planned actions come out. No processes, no files; time from a ManualClock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, mintBootstrapToken, mintChildToken, mintLeave, mintRevoke, seedSigner, tokenId, toHex, type Signer, type Token } from '../../src/trust/index.js';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { bindingMessage, type BindingBody } from '../../src/gitback/binding.js';
import { Budget, DEFAULT_SWEEP_LIMITS, planSweep, type ObservedProject, type SweepAction, type SweepLimits } from '../../src/gitback/reactor-plan.js';
import { memoryStores } from '../../src/gitback/stores/memory.js';
import type { ProjectState } from '../../src/gitback/state.js';
import type { PasswdEntry } from '../../src/gitback/passwd.js';

const T0 = 1_800_000_000;

/** A project founded by `founder` (uid 1000) with bob an admin (uid 1001) and carol a member (uid 1002), each bound to its key. */
async function envoy(seed: string) {
  const rng = seededRng(seed);
  const [founder, bob, carol] = [seedSigner(rng.bytes(32)), seedSigner(rng.bytes(32)), seedSigner(rng.bytes(32))];
  const root = await mintBootstrapToken(founder, 'demo', T0 - 100);
  const bobT = await mintChildToken(founder, [root], bob.publicKey, 'admin', T0 - 90, null);
  const carolT = await mintChildToken(founder, [root], carol.publicKey, 'member', T0 - 80, null);
  const stores = memoryStores();
  const users: Record<string, { entry: PasswdEntry; s: Signer; chain: Token[] }> = {
    founder: { entry: { name: 'founder', uid: 1000, gid: 1000, home: '/home/founder' }, s: founder, chain: [root] },
    bob: { entry: { name: 'bob', uid: 1001, gid: 1001, home: '/home/bob' }, s: bob, chain: [root, bobT] },
    carol: { entry: { name: 'carol', uid: 1002, gid: 1002, home: '/home/carol' }, s: carol, chain: [root, carolT] },
  };
  for (const u of Object.values(users)) {
    const pubkey = toHex(u.s.publicKey);
    const body: BindingBody = { v: 1, kind: 'uid-binding', uid: u.entry.uid, pubkey, challenge: '5a'.repeat(32), issued_at: T0 - 10 };
    stores.bindings.put({ v: 1, uid: u.entry.uid, user: u.entry.name, pubkey, bound_at: T0 - 10, proof: { ...body, sig: toHex(await u.s.sign(bindingMessage(body))) } });
  }
  const clock = new ManualClock(T0 * 1000);
  const pid = root.project_id;
  const state = (who: keyof typeof users): ProjectState => ({
    dir: `${users[who]!.entry.home}/.vigo-gitback/${pid}`,
    config: {
      version: 1, project_id: pid, handle: 'demo', founder: toHex(founder.publicKey), scope: 'swarm-wide', members: [], role: users[who]!.chain.at(-1)!.role,
      created_at: T0 - 100, cross_subnet_members: [], tombstoned_at: null, successor: null,
    },
    chain: users[who]!.chain,
    delegations: [],
  });
  /** what the sweep saw in `who`'s project directory */
  const observed = (who: keyof typeof users, o: { leave?: string; revoke?: string; state?: ProjectState | null }): ObservedProject => {
    const u = users[who]!;
    const sentinel = (file: string, text: string | undefined) => (text === undefined ? null : { taken: `${file}.sweeping`, stamp: `1:1:${text.length}:1`, text: { ok: true as const, value: text } });
    return {
      user: u.entry,
      pid,
      path: `${u.entry.home}/.vigo-gitback/${pid}`,
      leave: sentinel('leave.pending', o.leave),
      revoke: sentinel('revoke.pending', o.revoke),
      resume: null,
      state: { ok: true, value: o.state === undefined ? state(who) : o.state },
      identity: { ok: true, value: toHex(u.s.publicKey) },
    };
  };
  const plan = (obs: ObservedProject, limits: Partial<SweepLimits> = {}) => {
    const l = { ...DEFAULT_SWEEP_LIMITS, ...limits };
    const budget = new Budget(l, clock);
    budget.forUser();
    return { ...planSweep(obs, stores, Math.floor(clock.now() / 1000), { budget, limits: l }), budget };
  };
  return { stores, users, pid, root, bobT, carolT, founder, bob, carol, state, observed, plan };
}

const kinds = (a: SweepAction[]) => a.map((x) => x.do);
const rejection = (a: SweepAction[]) => a.find((x): x is Extract<SweepAction, { do: 'reject' }> => x.do === 'reject');

test('a valid leave: stored for the leaver’s uid, the sentinel removed, the project’s revocation set changed', async () => {
  const e = await envoy('leave');
  const leave = await mintLeave(e.carol, [e.root, e.carolT], [], T0 - 5);
  const p = e.plan(e.observed('carol', { leave: canonicalize(leave), state: null }));
  assert.equal(p.skip, null);
  assert.deepEqual(kinds(p.actions), ['store-leave', 'unlink', 'log', 'remove-dir-if-empty']);
  assert.deepEqual(p.actions[0], { do: 'store-leave', env: leave });
  assert.deepEqual(p.actions[1], { do: 'unlink', name: 'leave.pending.sweeping' });
  assert.equal(p.changed, true);
  // nothing was written by the plan itself
  assert.equal(e.stores.envelopes.heldByUid(e.pid, 1002), 0);
});

test('a forged leave (tampered after signing) and another member’s genuine leave are both rejected, nothing stored', async () => {
  const e = await envoy('forged');
  const leave = await mintLeave(e.carol, [e.root, e.carolT], [], T0 - 5);
  const forged = e.plan(e.observed('carol', { leave: canonicalize({ ...leave, issued_at: leave.issued_at + 1 }) }));
  assert.deepEqual(kinds(forged.actions), ['reject']);
  assert.match(rejection(forged.actions)!.why, /^E_BAD_SIGNATURE/);
  assert.equal(forged.changed, false);
  // bob drops carol's real leave into his own directory: it is not signed by the key bound to bob
  const stolen = e.plan(e.observed('bob', { leave: canonicalize(leave) }));
  assert.deepEqual(kinds(stolen.actions), ['reject']);
  assert.equal(rejection(stolen.actions)!.why, `E_PRESENTER_MISMATCH: the leave is signed by ${toHex(e.carol.publicKey)}, not by the key bound to bob (${toHex(e.bob.publicKey)})`);
});

test('a revoke signed by an admin after its own revocation is rejected; the one it signed before still stands', async () => {
  const e = await envoy('revoker');
  // the founder revoked bob at T0-20; the store holds that
  e.stores.envelopes.put('revoke', await mintRevoke(e.founder, [e.root], [], tokenId(e.bobT), null, T0 - 20), 1000);
  const before = await mintRevoke(e.bob, [e.root, e.bobT], [], tokenId(e.carolT), null, T0 - 30);
  const after = await mintRevoke(e.bob, [e.root, e.bobT], [], 'ee'.repeat(32), null, T0 - 10);
  const ok = e.plan(e.observed('bob', { revoke: canonicalize([before]) }));
  assert.deepEqual(kinds(ok.actions), ['forget-progress', 'store-revoke', 'log', 'unlink']);
  assert.equal(ok.changed, true);
  const late = e.plan(e.observed('bob', { revoke: canonicalize([after]) }));
  assert.deepEqual(kinds(late.actions), ['forget-progress', 'reject']);
  assert.match(rejection(late.actions)!.why, /^E_REVOKER_REVOKED: /);
  assert.equal(late.changed, false);
});

test('a user at its per-project quota: a leave is refused and the revokes beyond it are refused, naming the user', async () => {
  const e = await envoy('quota');
  const r1 = await mintRevoke(e.bob, [e.root, e.bobT], [], 'a1'.repeat(32), null, T0 - 10);
  const r2 = await mintRevoke(e.bob, [e.root, e.bobT], [], 'a2'.repeat(32), null, T0 - 10);
  const r3 = await mintRevoke(e.bob, [e.root, e.bobT], [], 'a3'.repeat(32), null, T0 - 10);
  e.stores.envelopes.put('revoke', r1, 1001);
  const p = e.plan(e.observed('bob', { revoke: canonicalize([r1, r2, r3]) }), { quotaPerUserProject: 2 });
  assert.deepEqual(kinds(p.actions), ['forget-progress', 'store-revoke', 'log', 'reject']);
  assert.deepEqual(p.actions[1], { do: 'store-revoke', env: r2 }, 'r1 is held already; r2 fills the quota');
  assert.equal(rejection(p.actions)!.why, `E_QUOTA: bob (uid 1001) holds 2 envelopes for ${e.pid} (the per-user quota); the rest is refused`);

  e.stores.envelopes.put('revoke', r2, 1001);
  const leave = await mintLeave(e.bob, [e.root, e.bobT], [], T0 - 5);
  const l = e.plan(e.observed('bob', { leave: canonicalize(leave) }), { quotaPerUserProject: 2 });
  assert.deepEqual(kinds(l.actions), ['reject']);
  assert.equal(rejection(l.actions)!.why, `E_QUOTA: bob (uid 1001) already holds 2 envelopes for ${e.pid}; nothing stored`);
});

test('malformed pending files are rejected naming the file; a leave file holding an array is refused as such', async () => {
  const e = await envoy('malformed');
  const junk = e.plan(e.observed('carol', { leave: '{"not":', revoke: 'garbage' }));
  assert.deepEqual(kinds(junk.actions), ['reject', 'reject']);
  const [a, b] = junk.actions.filter((x) => x.do === 'reject') as Extract<SweepAction, { do: 'reject' }>[];
  assert.deepEqual([a!.file, b!.file], ['leave.pending', 'revoke.pending']);
  assert.match(a!.why, /leave\.pending/);
  assert.match(b!.why, /revoke\.pending/);
  const leave = await mintLeave(e.carol, [e.root, e.carolT], [], T0 - 5);
  const two = e.plan(e.observed('carol', { leave: canonicalize([leave, leave]) }));
  assert.equal(rejection(two.actions)!.why, 'E_MALFORMED: leave.pending must hold exactly one LEAVE envelope (an object), not an array of 2');
});

test('a revoke by a user who holds no state and has left nothing is refused as not a member', async () => {
  const e = await envoy('nostate');
  const r = await mintRevoke(e.bob, [e.root, e.bobT], [], 'a1'.repeat(32), null, T0 - 10);
  const p = e.plan(e.observed('bob', { revoke: canonicalize([r]), state: null }));
  assert.equal(rejection(p.actions)!.why, `E_NOT_MEMBER: bob holds no state for ${e.pid}; revokes are swept only for members`);
});

test('the budget bounds one plan: what is left is remembered for the next tick; an unbound uid waits, logged once', async () => {
  const e = await envoy('budget');
  const list = [];
  for (let i = 0; i < 5; i++) list.push(await mintRevoke(e.bob, [e.root, e.bobT], [], (10 + i).toString(16).repeat(64).slice(0, 64), null, T0 - 10));
  const p = e.plan(e.observed('bob', { revoke: canonicalize(list) }), { perUser: 3 });
  // one unit for bob's membership check, two revokes
  assert.deepEqual(kinds(p.actions), ['forget-progress', 'store-revoke', 'log', 'store-revoke', 'log', 'remember-progress']);
  const rem = p.actions.at(-1) as Extract<SweepAction, { do: 'remember-progress' }>;
  assert.equal(rem.progress.next, 2);
  assert.equal(p.budget.exhausted, true);

  e.stores.bindings.records.delete(1001);
  const wait = e.plan(e.observed('bob', { revoke: canonicalize(list) }));
  assert.deepEqual(kinds(wait.actions), ['forget-progress', 'log-once']);
  const once = wait.actions[1] as Extract<SweepAction, { do: 'log-once' }>;
  assert.match(once.line, /^not sweeping \/home\/bob\/\.vigo-gitback\/[0-9a-f]{64}\/revoke\.pending yet: E_UNBOUND: /);
  const budget = new Budget(DEFAULT_SWEEP_LIMITS, new ManualClock(T0 * 1000));
  budget.forUser();
  const again = planSweep(e.observed('bob', { revoke: canonicalize(list) }), e.stores, T0, { budget, limits: DEFAULT_SWEEP_LIMITS, noted: new Set([once.key]) });
  assert.deepEqual(kinds(again.actions), ['forget-progress'], 'the wait is logged once, not every tick');
});

test('an envoy tombstone is planned for the founder’s own tombstoned project, not for an admin’s copy of its chain', async () => {
  const e = await envoy('tomb');
  const gone = (who: 'founder' | 'bob') => ({ ...e.state(who), config: { ...e.state(who).config, tombstoned_at: T0 - 1, successor: 'cd'.repeat(32) } });
  const f = e.plan(e.observed('founder', { state: gone('founder') }));
  assert.deepEqual(f.actions, [{ do: 'tombstone', record: { project_id: e.pid, tombstoned_at: T0 - 1, successor: 'cd'.repeat(32), by: 'founder' } }]);
  assert.deepEqual(e.plan(e.observed('bob', { state: gone('bob') })).actions, [], 'an admin is not the founder');
  e.stores.projects.putTombstone({ project_id: e.pid, tombstoned_at: T0 - 1, successor: null, by: 'founder' });
  assert.deepEqual(e.plan(e.observed('founder', { state: gone('founder') })).actions, [], 'held already');
});
