/**
 * The helper daemon's access decision for one connection, in two parts: loadAccessFacts
 * reads what the decision needs through the stores (../stores/stores.ts), and the pure
 * decideAccess (./decide.ts) decides from those facts alone. Identity comes only from the
 * kernel (the uid); everything else is loaded from THAT uid's home, owner-checked: its
 * project state, its chain and its delegations. The presenter is NOT taken from the user's
 * files: it is the key this uid proved it holds (the envoy's binding, see ../binding.ts);
 * identity.pub must agree with it. The envoy adds what the user cannot forge: the
 * revocations in the envelope store, the envoy's tombstones and the longest delegation
 * list it has verified.
 */
import { join } from 'node:path';
import type { PeerCred } from '../../platform/peercred.js';
import type { Clock } from '../../platform/clock.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { encodePushChainHeader, VerifyCache, type RevocationSet } from '../../trust/index.js';
import type { ConnectRequest, Grant, MigrateRequest } from './server.js';
import { verifyBindingProof, type BindingRecord } from '../binding.js';
import { boundPresenterOf, decideAccess, loadFact, presenterKeyOf, IDENTITY_PUB, type AccessDecision, type AccessFacts, type AccessRequest } from './decide.js';
import type { AccessStores } from '../stores/stores.js';
import { namedRevocations } from '../envelopes.js';

export { tombstonesDir } from '../stores/disk.js';

export interface AccessOptions {
  env: Env;
  stores: AccessStores;
  /** the trust core counts in unix seconds: Math.floor(clock.now() / 1000) */
  clock: Clock;
  log: (m: string) => void;
  cache?: VerifyCache;
}

/** unix seconds, the trust core's unit */
export const seconds = (clock: Clock): number => Math.floor(clock.now() / 1000);

export function bareRepoPath(env: Env, pid: string): string {
  return join(paths.gitbackProjects(env), `${pid}.git`);
}

/**
 * The facts for uid and project, in the order the decision checks them, stopping at the
 * first that already refuses (no passwd entry, a closed gate, no state, no identity, no
 * binding), so a refused stranger costs no envelope-store read.
 */
export function loadAccessFacts(stores: AccessStores, uid: number, projectId: string, now: number, root?: 'service'): AccessFacts {
  const service = root === 'service';
  const facts: AccessFacts = { uid, usersSource: stores.users.source, user: service ? stores.users.serviceRoot() : stores.users.byUid(uid) };
  if (service) facts.serviceRoot = true;
  const user = facts.user;
  if (user === null) return facts;
  facts.gate = loadFact(() => (stores.users.checkGate(uid, user.name), true as const));
  if (!facts.gate.ok) return facts;
  facts.state = loadFact(() => stores.users.project(user, projectId));
  if (!facts.state.ok || facts.state.value === null) return facts;
  facts.envoyTombstone = stores.projects.isTombstoned(projectId);
  facts.identity = loadFact(() => stores.users.identity(user));
  if (!facts.identity.ok || facts.identity.value === null) return facts;
  if (!service) {
    facts.binding = loadFact(() => stores.bindings.get(uid));
    if (!facts.binding.ok || facts.binding.value === null) return facts;
  }
  facts.known = loadFact(() => stores.projects.delegations(projectId));
  if (!facts.known.ok) return facts;
  const known = facts.known.value;
  facts.revocations = loadFact(() => {
    const held = stores.envelopes.load(projectId, now, known);
    return namedRevocations(held.revokes, held.set); // a refusal names the revocation to look up
  });
  return facts;
}

/** The key identity.pub names, read through `read` (the reactor's fd-walking reader). */
export function presenterKey(home: string, read: (p: string) => string | null): string {
  const file = join(home, IDENTITY_PUB);
  return presenterKeyOf(read(file), file);
}

/** The key bound to the user's uid, which identity.pub (read through `read`) must name. */
export function boundPresenter(stores: Pick<AccessStores, 'bindings'>, user: { uid: number; name: string; home: string }, read: (p: string) => string | null): string {
  return boundPresenterOf(user, read(join(user.home, IDENTITY_PUB)), () => stores.bindings.get(user.uid));
}

/**
 * `bind`: record uid → key after a proof of possession answering THIS connection's
 * challenge, for the key identity.pub names. A different key replaces an existing binding
 * only through such a fresh proof (that is how a rekey moves it); the change is logged.
 */
export async function bindUid(opts: AccessOptions, cred: PeerCred, challenge: string, proof: unknown): Promise<{ uid: number; pubkey: string; replaced: string | null }> {
  await Promise.resolve();
  const { users, bindings } = opts.stores;
  const user = users.byUid(cred.uid);
  if (!user) throw new VigoError('E_UNKNOWN_USER', `uid ${cred.uid} is not in ${users.source}`);
  users.checkGate(cred.uid, user.name);
  const now = seconds(opts.clock);
  const p = verifyBindingProof(proof, { uid: cred.uid, challenge, now });
  const own = presenterKeyOf(users.identity(user), join(user.home, IDENTITY_PUB));
  if (p.pubkey !== own) throw new VigoError('E_BIND_REFUSED', `binding refused: the proof is for ${p.pubkey.slice(0, 16)}…, but your identity.pub names ${own.slice(0, 16)}…`);
  let prev: BindingRecord | null = null;
  try {
    prev = bindings.get(cred.uid);
  } catch (e) {
    opts.log(`uid ${cred.uid}: replacing an unreadable binding: ${e instanceof Error ? e.message : String(e)}`);
  }
  bindings.put({ v: 1, uid: cred.uid, user: user.name, pubkey: p.pubkey, bound_at: now, proof: p });
  const replaced = prev !== null && (prev.pubkey !== p.pubkey || prev.user !== user.name) ? prev.pubkey : null;
  if (prev === null) opts.log(`uid ${cred.uid} (${user.name}) bound to ${p.pubkey}`);
  else if (replaced !== null) opts.log(`uid ${cred.uid} (${user.name}) binding rotated ${prev.pubkey} (${prev.user}) → ${p.pubkey}`);
  return { uid: cred.uid, pubkey: p.pubkey, replaced };
}

/**
 * `puddle leave` on this envoy: the caller's uid (the kernel's word) loses its binding. No
 * proof is asked: a uid can only drop its own binding, which any process of that uid could
 * make useless anyway (by removing its tokens); binding again needs a fresh proof.
 */
export async function unbindUid(opts: AccessOptions, cred: PeerCred): Promise<{ uid: number; removed: string | null }> {
  await Promise.resolve();
  let prev: BindingRecord | null = null;
  try {
    prev = opts.stores.bindings.get(cred.uid);
  } catch (e) {
    opts.log(`uid ${cred.uid}: removing an unreadable binding: ${e instanceof Error ? e.message : String(e)}`);
  }
  const had = opts.stores.bindings.remove(cred.uid);
  if (had) opts.log(`uid ${cred.uid}${prev !== null ? ` (${prev.user})` : ''} unbound${prev !== null ? ` from ${prev.pubkey}` : ''} (puddle leave)`);
  return { uid: cred.uid, removed: had ? (prev?.pubkey ?? '') : null };
}

export async function authorize(opts: AccessOptions, cred: PeerCred, req: ConnectRequest): Promise<Grant> {
  await Promise.resolve();
  return decide(opts, cred, { projectId: req.project_id, handle: req.handle, ignoreTombstone: false });
}

/**
 * Migration (re-found, reanchor) copies one project's refs into another. The caller must
 * hold a verifying chain for both (admin on the target), for the same handle; the source may be
 * tombstoned (that is the point), the target may not.
 */
export async function authorizeMigrate(opts: AccessOptions, cred: PeerCred, req: MigrateRequest): Promise<{ from: Grant; to: Grant }> {
  await Promise.resolve();
  const to = decide(opts, cred, { projectId: req.to, handle: null, ignoreTombstone: false });
  const from = decide(opts, cred, { projectId: req.from, handle: to.handle, ignoreTombstone: true });
  // reading the source needs only what a fetch needs; writing every ref of the target needs admin
  if (to.role !== 'admin') throw new VigoError('E_NOT_ADMIN', `migrating into ${to.projectId.slice(0, 12)}… needs admin; you are a ${to.role}`);
  return { from, to };
}

/**
 * `retired`: what no longer holds in a project (standing revokes, leaves), for a caller who
 * holds verifying state for it — re-invite-all and re-found must not re-mint those tokens,
 * and the envelope store is root's. A tombstoned project is allowed: re-found carries its members.
 */
export async function authorizeRetired(opts: AccessOptions, cred: PeerCred, projectId: string): Promise<RevocationSet> {
  await Promise.resolve();
  decide(opts, cred, { projectId, handle: null, ignoreTombstone: true });
  return opts.stores.envelopes.load(projectId, seconds(opts.clock), opts.stores.projects.delegations(projectId)).set;
}

/**
 * A project the sweep found in uid's state, as replication's member: only when the same
 * decision as a connect grants it (the chain verifies for the key bound to that uid), so
 * copying someone's state files does not make an envoy a member. Throws the refusal.
 */
export function authorizeHeld(opts: AccessOptions, uid: number, projectId: string): Grant {
  return decide(opts, { uid, gid: -1, pid: 0 }, { projectId, handle: null, ignoreTombstone: false });
}

/**
 * Root's `replicate` (a file:// push into the stacks project reaching replication), and the
 * sweep's member mark for the same state: the project as the service-account state root
 * holds it. The state is root's own files (owner-checked uid 0); the presenter is the
 * service-account puddle's identity.pub, which the chain's leaf must name; the manifest is
 * then signed by that key (through the service-account helper), never by the envoy.
 */
export function authorizeServiceRoot(opts: AccessOptions, cred: PeerCred, projectId: string): Grant & { handle: string } {
  if (cred.uid !== 0) throw new VigoError('E_ROOT_ONLY', `uid ${cred.uid} may not act for the service-account puddle (root only)`);
  return decide(opts, cred, { projectId, handle: null, ignoreTombstone: false }, 'service');
}

/** Loads the facts, decides, and applies what the decision asks (recording a longer delegation list). */
function decide(opts: AccessOptions, cred: PeerCred, req: AccessRequest, root?: 'service'): Grant & { handle: string } {
  const now = seconds(opts.clock);
  const d: AccessDecision = decideAccess(loadAccessFacts(opts.stores, cred.uid, req.projectId, now, root), req, now, opts.cache ? { cache: opts.cache } : {});
  if (!d.allow) throw d.error;
  // (decide is synchronous: no other connection can record between our read and this write)
  if (d.recordDelegations !== null) {
    opts.stores.projects.recordDelegations(d.projectId, d.recordDelegations, now);
    opts.log(`project ${d.projectId.slice(0, 12)}…: recorded ${d.recordDelegations.length} founder delegation(s) (was ${d.knownDelegations})`);
  }
  return {
    repo: bareRepoPath(opts.env, d.projectId),
    projectId: d.projectId,
    user: d.user,
    role: d.role,
    handle: d.handle,
    pusher: { key: d.presenter, chain: encodePushChainHeader(d.chain, d.delegations), scope: d.scope },
  };
}
