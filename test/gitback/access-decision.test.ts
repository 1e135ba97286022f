// The helper daemon's access decision, driven directly: facts from in-memory stores, time
// from a ManualClock, no processes and no files. Each story is one refusal an operator may
// see in the daemon's answer (code, message, hint), or the grant it gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mintBootstrapToken, mintChildToken, mintDelegation, mintLeave, mintRevoke, seedSigner, tokenId, toHex, type Signer, type Token } from '../../src/trust/index.js';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { bindingMessage, type BindingBody, type BindingRecord } from '../../src/gitback/binding.js';
import { authorizeServiceRoot, loadAccessFacts, seconds } from '../../src/gitback/daemon/access.js';
import { isVigoError } from '../../src/platform/errors.js';
import { decideAccess, type AccessDecision, type AccessRequest } from '../../src/gitback/daemon/decide.js';
import { memoryStores, type MemoryUser } from '../../src/gitback/stores/memory.js';
import type { ProjectConfig, ProjectState } from '../../src/gitback/state.js';
import type { EnvelopeStore } from '../../src/gitback/stores/stores.js';

const T0 = 1_800_000_000; // unix seconds
const ALICE = { name: 'alice', uid: 1001, gid: 1001, home: '/home/alice' };

async function boundTo(uid: number, user: string, s: Signer, at: number): Promise<BindingRecord> {
  const pubkey = toHex(s.publicKey);
  const body: BindingBody = { v: 1, kind: 'uid-binding', uid, pubkey, challenge: '5a'.repeat(32), issued_at: at };
  return { v: 1, uid, user, pubkey, bound_at: at, proof: { ...body, sig: toHex(await s.sign(bindingMessage(body))) } };
}

function projectState(root: Token, chain: Token[], member: Signer, extra: Partial<ProjectConfig> = {}): ProjectState {
  const config: ProjectConfig = {
    version: 1, project_id: root.project_id, handle: 'demo', founder: root.subject, scope: 'swarm-wide', members: [root.subject, toHex(member.publicKey)],
    role: chain[chain.length - 1]!.role, created_at: T0 - 100, cross_subnet_members: [], tombstoned_at: null, successor: null, ...extra,
  };
  return { dir: `${ALICE.home}/.vigo-gitback/${root.project_id}`, config, chain, delegations: [] };
}

/** An envoy where alice (uid 1001) holds a member token, valid for an hour, bound to her puddle key. */
async function envoy(seed: string) {
  const rng = seededRng(seed);
  const founder = seedSigner(rng.bytes(32));
  const member = seedSigner(rng.bytes(32));
  const clock = new ManualClock(T0 * 1000);
  const root = await mintBootstrapToken(founder, 'demo', T0 - 100);
  const child = await mintChildToken(founder, [root], member.publicKey, 'member', T0 - 50, T0 + 3600);
  const stores = memoryStores();
  const alice = stores.users.add(ALICE, { identity: `ed25519:${toHex(member.publicKey)}\n` });
  alice.projects.set(root.project_id, projectState(root, [root, child], member));
  stores.bindings.put(await boundTo(ALICE.uid, 'alice', member, T0 - 10));
  const pid = root.project_id;
  const decide = (req: Partial<AccessRequest> = {}, uid = ALICE.uid): AccessDecision => {
    const now = seconds(clock);
    return decideAccess(loadAccessFacts(stores, uid, req.projectId ?? pid, now), { projectId: pid, handle: 'demo', ignoreTombstone: false, ...req }, now);
  };
  return { stores, clock, founder, member, root, child, pid, alice, decide };
}

function refused(d: AccessDecision): AccessDecision & { allow: false } {
  assert.equal(d.allow, false, `expected a refusal, got ${JSON.stringify(d)}`);
  return d as AccessDecision & { allow: false };
}

test('a member holding a valid chain, bound to its key, is granted the member role for the project’s handle', async () => {
  const e = await envoy('grant');
  const d = e.decide();
  assert.deepEqual(d, {
    allow: true,
    user: 'alice',
    role: 'member',
    handle: 'demo',
    projectId: e.pid,
    recordDelegations: null,
    knownDelegations: 0,
    // what a push's manifest is signed as: the bound key, the leaf of this chain
    presenter: toHex(e.member.publicKey),
    chain: [e.root, e.child],
    delegations: [],
    scope: 'swarm-wide',
  });
  // migrate and `retired` ask without a handle: the project's own is used
  assert.deepEqual(e.decide({ handle: null }), d);
});

test('a uid the envoy has no passwd entry for is refused, naming where users come from', async () => {
  const e = await envoy('stranger');
  const d = refused(e.decide({}, 4242));
  assert.equal(d.code, 'E_UNKNOWN_USER');
  assert.equal(d.message, 'uid 4242 is not in the in-memory user directory');
});

test('a user whose usercrate does not grant gitback is refused before anything of its own is read', async () => {
  const e = await envoy('gate');
  e.alice.gitback = false;
  assert.equal(refused(e.decide()).code, 'E_USERCRATE_DENIED');
});

test('a user holding no state for the project is refused as not a member, with the join hint, and costs no envelope-store read', async () => {
  const e = await envoy('nonmember');
  e.alice.projects.clear();
  let reads = 0;
  const envelopes: EnvelopeStore = e.stores.envelopes;
  const load = envelopes.load.bind(envelopes);
  envelopes.load = (...a) => (reads++, load(...a));
  const d = refused(e.decide());
  assert.equal(d.code, 'E_NOT_MEMBER');
  assert.equal(d.message, `you (alice) hold no state for project demo (${e.pid.slice(0, 12)}…) on this envoy`);
  assert.equal(d.hint, 'join it first: vigo swarm gitback project join <project_id> --invitation <file>');
  assert.equal(reads, 0, 'a refused non-member is not worth a store read');
  e.alice.projects.set(e.pid, projectState(e.root, [e.root, e.child], e.member));
  assert.equal(e.decide().allow, true);
  assert.equal(reads, 1);
});

test('asking for the project under another handle is refused with the URL to use', async () => {
  const e = await envoy('handle');
  const d = refused(e.decide({ handle: 'other' }));
  assert.equal(d.code, 'E_WRONG_HANDLE');
  assert.equal(d.message, `project ${e.pid.slice(0, 12)}… is 'demo', not 'other'`);
  assert.equal(d.hint, `use gitback://${e.pid}/demo`);
});

test('no puddle identity, no binding, a binding left by a reused uid, or a binding of another key: each refused, saying what to run', async () => {
  const e = await envoy('binding');
  e.alice.identity = null;
  const none = refused(e.decide());
  assert.equal(none.code, 'E_PUDDLE_NOT_INITIALIZED');
  assert.match(none.message, /\/home\/alice\/\.vigo-puddle\/identity\.pub is missing/);
  e.alice.identity = toHex(e.member.publicKey);

  e.stores.bindings.records.clear();
  const unbound = refused(e.decide());
  assert.equal(unbound.code, 'E_UNBOUND');
  assert.match(unbound.hint ?? '', /vigo swarm puddle unlock/);
  // a record for uid 1001 left by a deleted user of another name is not alice's
  e.stores.bindings.put(await boundTo(ALICE.uid, 'olduser', e.member, T0 - 10));
  assert.equal(refused(e.decide()).code, 'E_UNBOUND');

  // the envoy bound another key (alice rekeyed, or identity.pub was edited behind the puddle's back)
  e.stores.bindings.put(await boundTo(ALICE.uid, 'alice', e.founder, T0 - 10));
  const mismatch = refused(e.decide());
  assert.equal(mismatch.code, 'E_BINDING_MISMATCH');
  assert.match(mismatch.message, new RegExp(`your identity.pub \\(${toHex(e.member.publicKey).slice(0, 16)}…\\) is not the key this envoy bound to uid 1001`));
});

test('a member revoked by the founder is refused with a new-invitation hint; one who left is refused too', async () => {
  const e = await envoy('revoked');
  e.stores.envelopes.put('revoke', await mintRevoke(e.founder, [e.root], [], tokenId(e.child), 'left the team', T0 - 5), 0);
  const d = refused(e.decide());
  assert.equal(d.code, 'E_REVOKED');
  assert.match(d.message, /^access to demo refused \(E_REVOKED\): /);
  assert.equal(d.hint, 'ask a project admin for a new invitation');

  const l = await envoy('left');
  l.stores.envelopes.put('leave', await mintLeave(l.member, [l.root, l.child], [], T0 - 5), ALICE.uid);
  assert.equal(refused(l.decide()).code, 'E_LEFT');
});

test('a member token past its expiry is refused once the clock passes it, not before', async () => {
  const e = await envoy('expiry');
  e.clock.advance(3599 * 1000);
  assert.equal(e.decide().allow, true);
  e.clock.advance(2 * 1000);
  assert.equal(refused(e.decide()).code, 'E_EXPIRED');
});

test('a tombstoned project is refused with its successor, whether the user’s state or the envoy says so; a migration source is not', async () => {
  const e = await envoy('tombstone');
  const next = 'cd'.repeat(32);
  e.alice.projects.set(e.pid, projectState(e.root, [e.root, e.child], e.member, { tombstoned_at: T0 - 1, successor: next }));
  const d = refused(e.decide());
  assert.equal(d.code, 'E_TOMBSTONED');
  assert.equal(d.hint, `the project continues as ${next}; run \`vigo swarm gitback project push\` to re-point your remote`);
  assert.equal(e.decide({ ignoreTombstone: true }).allow, true, 'the source of a re-found migration stays readable');

  // the user cleared its own tombstone; the envoy's record still stands
  e.alice.projects.set(e.pid, projectState(e.root, [e.root, e.child], e.member));
  e.stores.projects.putTombstone({ project_id: e.pid, tombstoned_at: T0 - 1, successor: null, by: 'founder' });
  const envoyOnly = refused(e.decide());
  assert.equal(envoyOnly.code, 'E_TOMBSTONED');
  assert.equal(envoyOnly.hint, 'ask the founder for the re-founded project id');
});

test('after a founder rekey the longer delegation list is to be recorded, and then the deposed key’s chain no longer verifies', async () => {
  const e = await envoy('rekey');
  const rng = seededRng('rekey-new');
  const fresh = seedSigner(rng.bytes(32));
  // alice is the founder here: she rekeyed (old key → fresh) and holds the new admin chain
  const delegation = await mintDelegation(e.founder, e.pid, [], fresh.publicKey, T0 - 40);
  const root = await mintBootstrapToken(e.founder, 'demo', T0 - 40, { projectId: e.pid });
  const admin = await mintChildToken(e.founder, [root], fresh.publicKey, 'admin', T0 - 40, null);
  e.alice.projects.set(e.pid, { ...projectState(e.root, [root, admin], fresh), delegations: [delegation] });
  e.alice.identity = toHex(fresh.publicKey);
  e.stores.bindings.put(await boundTo(ALICE.uid, 'alice', fresh, T0 - 10));
  const d = e.decide();
  assert.equal(d.allow && d.role, 'admin');
  assert.deepEqual(d.allow && d.recordDelegations, [delegation], 'the decision asks the daemon to record the longer list');
  e.stores.projects.recordDelegations(e.pid, [delegation], T0);
  const again = e.decide();
  assert.equal(again.allow && again.recordDelegations, null, 'recorded once');

  // the old key presents its pre-rekey chain with the delegations dropped: the envoy's record says otherwise
  e.alice.projects.set(e.pid, projectState(e.root, [e.root], e.founder));
  e.alice.identity = toHex(e.founder.publicKey);
  e.stores.bindings.put(await boundTo(ALICE.uid, 'alice', e.founder, T0 - 10));
  const deposed = refused(e.decide());
  assert.equal(deposed.code, 'E_DELEGATION_WINDOW');
  assert.equal(deposed.message, `access to demo refused (E_DELEGATION_WINDOW): the presenter ${toHex(e.founder.publicKey)} is a founder key retired at ${T0 - 40}`);
});

/**
 * The service root (the ops-puddle dir's stacks project, for root's `replicate`): root
 * only, no binding, and the chain's leaf must be the key the service-account puddle's
 * identity.pub names. Each attack below is one way around that rule.
 */
test('the service root: root only, no binding, its chain for the service-account key alone; revoked is revoked', async () => {
  const e = await envoy('service');
  const ROOT = { name: 'root', uid: 0, gid: 0, home: '/root' };
  e.stores.users.add(ROOT); // root's own home holds nothing of the project
  const service: MemoryUser = { entry: { name: 'vigo-ops-puddle', uid: 0, gid: 0, home: '/srv/vigo/ops-puddle' }, gitback: true, identity: `${toHex(e.member.publicKey)}\n`, projects: new Map<string, ProjectState>() };
  const opts = { env: {}, stores: e.stores, clock: e.clock, log: () => undefined };
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'granted';
    } catch (x) {
      return isVigoError(x) ? x.code : String(x);
    }
  };
  const asRoot = { uid: 0, gid: 0, pid: 1 };
  assert.equal(code(() => authorizeServiceRoot(opts, asRoot, e.pid)), 'E_NOT_MEMBER', 'no service root on this host');
  e.stores.users.service = service;
  assert.equal(code(() => authorizeServiceRoot(opts, asRoot, e.pid)), 'E_NOT_MEMBER', 'the service root holds no state for it');
  service.projects.set(e.pid, projectState(e.root, [e.root, e.child], e.member));
  // alice, who holds the very same chain bound to her uid, still may not act for the service root
  assert.equal(code(() => authorizeServiceRoot(opts, { uid: ALICE.uid, gid: ALICE.gid, pid: 1 }, e.pid)), 'E_ROOT_ONLY');
  const g = authorizeServiceRoot(opts, asRoot, e.pid);
  assert.deepEqual([g.user, g.role, g.pusher?.key, g.pusher?.scope], ['vigo-ops-puddle', 'member', toHex(e.member.publicKey), 'swarm-wide']);
  assert.equal(e.stores.bindings.get(0), null, 'granted without any uid binding');
  // identity.pub names another key than the chain's leaf (a planted chain, or a swapped key)
  service.identity = `${toHex(e.founder.publicKey)}\n`;
  assert.equal(code(() => authorizeServiceRoot(opts, asRoot, e.pid)), 'E_PRESENTER_MISMATCH');
  service.identity = null;
  assert.equal(code(() => authorizeServiceRoot(opts, asRoot, e.pid)), 'E_PUDDLE_NOT_INITIALIZED');
  service.identity = `${toHex(e.member.publicKey)}\n`;
  // the founder revoked the service-account member token: refused like anyone's
  e.stores.envelopes.put('revoke', await mintRevoke(e.founder, [e.root], [], tokenId(e.child), 'bolt retired', T0 - 5), 0);
  assert.equal(code(() => authorizeServiceRoot(opts, asRoot, e.pid)), 'E_REVOKED');
});
