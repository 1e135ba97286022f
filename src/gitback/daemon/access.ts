/**
 * The helper daemon's access decision for one connection. Identity comes only from the
 * kernel (the uid); everything else is loaded from THAT uid's home, owner-checked:
 * its project state, its chain, its delegations and its puddle public key (the presenter).
 * The envoy adds what the user cannot forge: the revocations in the envelope store and
 * the envoy's tombstones. The trust core's verifyChain makes the decision.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCred } from '../../platform/peercred.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { VerifyCache, verifyChain } from '../../trust/index.js';
import { checkUsercrateGate } from '../gate.js';
import { userByUid } from '../passwd.js';
import { checkOwnedDir, loadProject, ownedReader } from '../state.js';
import { EnvelopeCache, loadRevocations } from '../envelopes.js';
import type { ConnectRequest, Grant, MigrateRequest } from './server.js';

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

function decide(opts: AccessOptions, cred: PeerCred, projectId: string, wantHandle: string | null, ignoreTombstone: boolean): Grant & { handle: string } {
  const req = { project_id: projectId, handle: wantHandle ?? '' };
  const user = userByUid(cred.uid, opts.passwdFile);
  if (!user) throw new VigoError('E_UNKNOWN_USER', `uid ${cred.uid} is not in ${opts.passwdFile}`);
  checkUsercrateGate(cred.uid, user.name, opts.env);
  const read = ownedReader(cred.uid);
  const base = join(user.home, '.vigo-gitback');
  const notMember = () =>
    new VigoError('E_NOT_MEMBER', `you (${user.name}) hold no state for project ${req.handle} (${req.project_id.slice(0, 12)}…) on this envoy`, {
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
  const result = verifyChain({
    projectId: req.project_id,
    chain: state.chain,
    delegations: state.delegations,
    revoked: loadRevocations(paths.gitbackEnvelopes(opts.env), req.project_id, now, opts.log, opts.envelopes ?? new EnvelopeCache()),
    now,
    presenter: presenterKey(user.home, read),
    tombstoned,
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
  return { repo: bareRepoPath(opts.env, req.project_id), projectId: req.project_id, user: user.name, role: result.role, handle: state.config.handle };
}
