/**
 * The helper daemon's access decision as a pure function of the facts loaded for one
 * connection (access.ts loadAccessFacts): no files, no clock, no processes. The facts are
 * checked in the order the daemon has always checked them — passwd entry, usercrate gate,
 * the user's own project state, its handle, the key bound to its uid, the envoy's
 * delegation record and revocations — and the first that does not hold is the refusal,
 * with the code, message and hint the daemon sends. The trust core's verifyChain decides
 * the chain itself.
 */
import { join } from 'node:path';
import { VigoError } from '../../platform/errors.js';
import { verifyChain, type Delegation, type RevocationSet, type Role, type VerifyCache } from '../../trust/index.js';
import { UNBOUND_HINT, type BindingRecord } from '../binding.js';
import type { PasswdEntry } from '../passwd.js';
import type { ProjectState } from '../state.js';

/** A fact as loaded: its value, or what loading it threw (a malformed or unsafe file). */
export type Loaded<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** f's value, or what it threw, as a fact. */
export function loadFact<T>(f: () => T): Loaded<T> {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * What the envoy knows for one (uid, project). The loader stops at the first fact that
 * already refuses (a user who holds no state costs no store read), so a later fact may be
 * absent; decideAccess never reaches an absent one.
 */
export interface AccessFacts {
  uid: number;
  /** where the passwd entry came from, for the message */
  usersSource: string;
  user: PasswdEntry | null;
  gate?: Loaded<true>;
  /** the user's own state for the project (null: holds none, or its directories are not its own) */
  state?: Loaded<ProjectState | null>;
  /** the text of ~/.vigo-puddle/identity.pub (null: missing) */
  identity?: Loaded<string | null>;
  binding?: Loaded<BindingRecord | null>;
  /** the envoy's delegation record for the project */
  known?: Loaded<Delegation[]>;
  /** the revokes and leaves in force */
  revocations?: Loaded<RevocationSet>;
  /** the envoy holds a tombstone for the project */
  envoyTombstone?: boolean;
  /**
   * The state root is root's own service root (the ops-puddle dir), asked for by root: the
   * presenter is the key its identity names, with no uid binding (binding is absent).
   */
  serviceRoot?: true;
}

export interface AccessRequest {
  projectId: string;
  /** null: whatever the project's handle is (migrate, retired) */
  handle: string | null;
  /** a tombstoned project is allowed (the source of a migration, `retired`) */
  ignoreTombstone: boolean;
}

export type AccessDecision =
  | {
      allow: true;
      user: string;
      role: Role;
      handle: string;
      projectId: string;
      /** a longer founder delegation list than the envoy's record verified: record it */
      recordDelegations: Delegation[] | null;
      /** how many the record held before */
      knownDelegations: number;
      /** for the push fan-out: the key that presented (the chain's leaf subject), its chain and delegations, the project's scope */
      presenter: string;
      chain: ProjectState['chain'];
      delegations: ProjectState['delegations'];
      scope: ProjectState['config']['scope'];
    }
  | { allow: false; code: string; message: string; hint: string | undefined; /** what the daemon throws */ error: unknown };

function refuse(error: unknown): AccessDecision & { allow: false } {
  const v = error instanceof VigoError ? error : null;
  return { allow: false, code: v?.code ?? 'E_INTERNAL', message: error instanceof Error ? error.message : String(error), hint: v?.hint, error };
}

function refusal(code: string, message: string, hint?: string): AccessDecision & { allow: false } {
  return refuse(new VigoError(code, message, hint === undefined ? {} : { hint }));
}

class Absent extends Error {}

function value<T>(f: Loaded<T> | undefined, what: string): T {
  if (f === undefined) throw new Absent(`decideAccess: the fact '${what}' was not loaded`);
  if (!f.ok) throw f.error;
  return f.value;
}

export const IDENTITY_PUB = join('.vigo-puddle', 'identity.pub');

/** The 64-hex key identity.pub names (E_PUDDLE_NOT_INITIALIZED, E_STATE_MALFORMED). */
export function presenterKeyOf(text: string | null, file: string): string {
  if (text === null) throw new VigoError('E_PUDDLE_NOT_INITIALIZED', `you have no puddle identity (${file} is missing)`, { hint: 'run `vigo swarm puddle init`' });
  const hex = text.trim().replace(/^ed25519:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new VigoError('E_STATE_MALFORMED', `${file} is not a 64-hex public key`);
  return hex;
}

/**
 * The key this uid may present: its binding, which must also be what identity.pub says
 * (a user who rekeyed, or who pasted another key into identity.pub, must bind again).
 */
export function boundPresenterOf(user: { uid: number; name: string; home: string }, identity: string | null, binding: () => BindingRecord | null): string {
  const own = presenterKeyOf(identity, join(user.home, IDENTITY_PUB));
  const b = binding();
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

/** Allow or refuse one connection's request from its facts, at `now` (unix seconds). */
export function decideAccess(facts: AccessFacts, request: AccessRequest, now: number, opts: { cache?: VerifyCache } = {}): AccessDecision {
  try {
    return decideOrThrow(facts, request, now, opts);
  } catch (e) {
    if (e instanceof Absent) throw e; // a loader bug, not a refusal
    return refuse(e);
  }
}

function decideOrThrow(facts: AccessFacts, request: AccessRequest, now: number, opts: { cache?: VerifyCache }): AccessDecision {
  const pid = request.projectId;
  const user = facts.user;
  if (!user) {
    if (facts.serviceRoot === true) return refusal('E_NOT_MEMBER', `this host holds no service-account project state (no ops-puddle .vigo-gitback), so not project ${pid.slice(0, 12)}…`, 'on a bolt: `vigocli spanner stacks init` or `stacks join`');
    return refusal('E_UNKNOWN_USER', `uid ${facts.uid} is not in ${facts.usersSource}`);
  }
  value(facts.gate, 'gate');
  let handle = request.handle ?? '';
  const notMember = () =>
    refusal('E_NOT_MEMBER', `you (${user.name}) hold no state for project ${handle === '' ? '' : `${handle} `}(${pid.slice(0, 12)}…) on this envoy`, 'join it first: vigo swarm gitback project join <project_id> --invitation <file>');
  const state = value(facts.state, 'state');
  if (!state) return notMember();
  if (request.handle === null) handle = state.config.handle;
  if (state.config.handle !== handle) {
    return refusal('E_WRONG_HANDLE', `project ${pid.slice(0, 12)}… is '${state.config.handle}', not '${handle}'`, `use gitback://${pid}/${state.config.handle}`);
  }
  const tombstoned = !request.ignoreTombstone && (state.config.tombstoned_at !== null || facts.envoyTombstone === true);
  const presenter =
    facts.serviceRoot === true
      ? presenterKeyOf(value(facts.identity, 'identity'), "the service-account puddle's identity.pub")
      : boundPresenterOf(user, value(facts.identity, 'identity'), () => value(facts.binding, 'binding'));
  const known = value(facts.known, 'known');
  // what is in force: revokes that stand (their signer not revoked before signing) and leaves (leaf only)
  const rv = value(facts.revocations, 'revocations');
  const result = verifyChain({
    projectId: pid,
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
    return refusal(result.code, `access to ${handle} refused (${result.code}): ${result.message}`, hint);
  }
  return {
    allow: true,
    user: user.name,
    role: result.role,
    handle: state.config.handle,
    projectId: pid,
    // verified and consistent with what we held (reconcileDelegations): remember the longer list
    recordDelegations: state.delegations.length > known.length ? state.delegations : null,
    knownDelegations: known.length,
    presenter,
    chain: state.chain,
    delegations: state.delegations,
    scope: state.config.scope,
  };
}
