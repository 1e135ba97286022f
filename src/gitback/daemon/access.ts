/**
 * The helper daemon's access decision for one connection. Identity comes only from the
 * kernel (the uid); everything else is loaded from THAT uid's home, owner-checked:
 * its project state, its chain and its delegations. The presenter is NOT taken from the
 * user's files: it is the key this uid proved it holds (the envoy's binding, see
 * ../binding.ts); identity.pub must agree with it. The envoy adds what the user cannot
 * forge: the revocations in the envelope store, the envoy's tombstones and the longest
 * delegation list it has verified. The trust core's verifyChain makes the decision.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCred } from '../../platform/peercred.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { VerifyCache, verifyChain, type RevocationSet } from '../../trust/index.js';
import { checkUsercrateGate } from '../gate.js';
import { userByUid } from '../passwd.js';
import { checkOwnedDir, loadProject, ownedReader } from '../state.js';
import { EnvelopeCache, loadRevocations } from '../envelopes.js';
import type { ConnectRequest, Grant, MigrateRequest } from './server.js';
import {
  UNBOUND_HINT,
  readBinding,
  readDelegationRecord,
  verifyBindingProof,
  writeBinding,
  writeDelegationRecord,
  type BindingRecord,
} from '../binding.js';

export interface AccessOptions {
  env: Env;
  passwdFile: string;
  now: () => number;
  log: (m: string) => void;
  cache?: VerifyCache;
  envelopes?: EnvelopeCache;
}

export function tombstonesDir(env: Env): string {
  return join(paths.gitbackBase(env), 'tombstones');
}

export function bareRepoPath(env: Env, pid: string): string {
  return join(paths.gitbackProjects(env), `${pid}.git`);
}

export function presenterKey(home: string, read: (p: string) => string | null): string {
  const file = join(home, '.vigo-puddle', 'identity.pub');
  const text = read(file);
  if (text === null) throw new VigoError('E_PUDDLE_NOT_INITIALIZED', `you have no puddle identity (${file} is missing)`, { hint: 'run `vigo swarm puddle init`' });
  const hex = text.trim().replace(/^ed25519:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new VigoError('E_STATE_MALFORMED', `${file} is not a 64-hex public key`);
  return hex;
}

/**
 * The key this uid may present: its binding, which must also be what identity.pub says
 * (a user who rekeyed, or who pasted another key into identity.pub, must bind again).
 */
export function boundPresenter(env: Env, user: { uid: number; name: string; home: string }, read: (p: string) => string | null): string {
  const own = presenterKey(user.home, read);
  const b = readBinding(env, user.uid);
  // a record for a different user name is a uid reused after userdel/useradd: not this user's
  if (b === null || b.user !== user.name) {
    throw new VigoError('E_UNBOUND', `this envoy has not bound a puddle key to you (${user.name}, uid ${user.uid}) yet`, { hint: UNBOUND_HINT });
  }
  if (b.pubkey !== own) {
    throw new VigoError('E_BINDING_MISMATCH', `your identity.pub (${own.slice(0, 16)}…) is not the key this envoy bound to uid ${user.uid} (${b.pubkey.slice(0, 16)}…)`, {
      hint:
        'run `vigo swarm puddle unlock` (then retry) if you rekeyed or restored another identity, so this envoy binds the new key; ' +
        "if you did not, ~/.vigo-puddle/identity.pub was changed behind the puddle's back: restore the original file",
    });
  }
  return b.pubkey;
}

/**
 * `bind`: record uid → key after a proof of possession answering THIS connection's
 * challenge, for the key identity.pub names. A different key replaces an existing binding
 * only through such a fresh proof (that is how a rekey moves it); the change is logged.
 */
export async function bindUid(opts: AccessOptions, cred: PeerCred, challenge: string, proof: unknown): Promise<{ uid: number; pubkey: string; replaced: string | null }> {
  await Promise.resolve();
  const user = userByUid(cred.uid, opts.passwdFile);
  if (!user) throw new VigoError('E_UNKNOWN_USER', `uid ${cred.uid} is not in ${opts.passwdFile}`);
  checkUsercrateGate(cred.uid, user.name, opts.env);
  const now = opts.now();
  const p = verifyBindingProof(proof, { uid: cred.uid, challenge, now });
  const own = presenterKey(user.home, ownedReader(cred.uid));
  if (p.pubkey !== own) throw new VigoError('E_BIND_REFUSED', `binding refused: the proof is for ${p.pubkey.slice(0, 16)}…, but your identity.pub names ${own.slice(0, 16)}…`);
  let prev: BindingRecord | null = null;
  try {
    prev = readBinding(opts.env, cred.uid);
  } catch (e) {
    opts.log(`uid ${cred.uid}: replacing an unreadable binding: ${e instanceof Error ? e.message : String(e)}`);
  }
  writeBinding(opts.env, { v: 1, uid: cred.uid, user: user.name, pubkey: p.pubkey, bound_at: now, proof: p });
  const replaced = prev !== null && (prev.pubkey !== p.pubkey || prev.user !== user.name) ? prev.pubkey : null;
  if (prev === null) opts.log(`uid ${cred.uid} (${user.name}) bound to ${p.pubkey}`);
  else if (replaced !== null) opts.log(`uid ${cred.uid} (${user.name}) binding rotated ${prev.pubkey} (${prev.user}) → ${p.pubkey}`);
  return { uid: cred.uid, pubkey: p.pubkey, replaced };
}

export async function authorize(opts: AccessOptions, cred: PeerCred, req: ConnectRequest): Promise<Grant> {
  await Promise.resolve();
  return decide(opts, cred, req.project_id, req.handle, false);
}

/**
 * Migration (re-found, reanchor) copies one project's refs into another. The caller must
 * hold a verifying chain for both (admin on the target), for the same handle; the source may be
 * tombstoned (that is the point), the target may not.
 */
export async function authorizeMigrate(opts: AccessOptions, cred: PeerCred, req: MigrateRequest): Promise<{ from: Grant; to: Grant }> {
  await Promise.resolve();
  const to = decide(opts, cred, req.to, null, false);
  const from = decide(opts, cred, req.from, to.handle, true);
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
  decide(opts, cred, projectId, null, true);
  return loadRevocations(paths.gitbackEnvelopes(opts.env), projectId, opts.now(), opts.log, opts.envelopes ?? new EnvelopeCache(), {
    knownDelegations: readDelegationRecord(opts.env, projectId),
  });
}

function decide(opts: AccessOptions, cred: PeerCred, projectId: string, wantHandle: string | null, ignoreTombstone: boolean): Grant & { handle: string } {
  const req = { project_id: projectId, handle: wantHandle ?? '' };
  const user = userByUid(cred.uid, opts.passwdFile);
  if (!user) throw new VigoError('E_UNKNOWN_USER', `uid ${cred.uid} is not in ${opts.passwdFile}`);
  checkUsercrateGate(cred.uid, user.name, opts.env);
  const read = ownedReader(cred.uid);
  const base = join(user.home, '.vigo-gitback');
  const notMember = () =>
    new VigoError('E_NOT_MEMBER', `you (${user.name}) hold no state for project ${req.handle === '' ? '' : `${req.handle} `}(${req.project_id.slice(0, 12)}…) on this envoy`, {
      hint: 'join it first: vigo swarm gitback project join <project_id> --invitation <file>',
    });
  if (!checkOwnedDir(base, cred.uid) || !checkOwnedDir(join(base, req.project_id), cred.uid)) throw notMember();
  const state = loadProject(base, req.project_id, read);
  if (!state) throw notMember();
  if (wantHandle === null) req.handle = state.config.handle;
  if (state.config.handle !== req.handle) {
    throw new VigoError('E_WRONG_HANDLE', `project ${req.project_id.slice(0, 12)}… is '${state.config.handle}', not '${req.handle}'`, {
      hint: `use gitback://${req.project_id}/${state.config.handle}`,
    });
  }
  const tombstoned = !ignoreTombstone && (state.config.tombstoned_at !== null || existsSync(join(tombstonesDir(opts.env), `${req.project_id}.json`)));
  const now = opts.now();
  const presenter = boundPresenter(opts.env, { uid: cred.uid, name: user.name, home: user.home }, read);
  const known = readDelegationRecord(opts.env, req.project_id);
  // what is in force: revokes that stand (their signer not revoked before signing) and leaves (leaf only)
  const rv = loadRevocations(paths.gitbackEnvelopes(opts.env), req.project_id, now, opts.log, opts.envelopes ?? new EnvelopeCache(), { knownDelegations: known });
  const result = verifyChain({
    projectId: req.project_id,
    chain: state.chain,
    delegations: state.delegations,
    revoked: rv.revoked,
    revokedAt: rv.revokedAt,
    left: rv.left,
    now,
    presenter,
    tombstoned,
    ...(known.length > 0 ? { knownDelegations: known } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
  });
  if (!result.ok) {
    const hint =
      result.code === 'E_TOMBSTONED'
        ? state.config.successor
          ? `the project continues as ${state.config.successor}; run \`vigo swarm gitback project push\` to re-point your remote`
          : 'ask the founder for the re-founded project id'
        : result.code === 'E_REVOKED'
          ? 'ask a project admin for a new invitation'
          : undefined;
    throw new VigoError(result.code, `access to ${req.handle} refused (${result.code}): ${result.message}`, hint ? { hint } : {});
  }
  // verified and consistent with what we held (reconcileDelegations): remember the longer list
  // (decide is synchronous: no other connection can record between our read and this write)
  if (state.delegations.length > known.length) {
    writeDelegationRecord(opts.env, req.project_id, state.delegations, now);
    opts.log(`project ${req.project_id.slice(0, 12)}…: recorded ${state.delegations.length} founder delegation(s) (was ${known.length})`);
  }
  return { repo: bareRepoPath(opts.env, req.project_id), projectId: req.project_id, user: user.name, role: result.role, handle: state.config.handle };
}
