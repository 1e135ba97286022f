/** Helpers shared by the project verbs: the caller's own chain check and invitations. */
import { VigoError } from '../../platform/errors.js';
import { humanizeTimes } from '../when.js';
import {
  currentFounder,
  formatPublicKey,
  toHex,
  verifyChain,
  type Delegation,
  type Invitation,
  type Role,
  type TokenChain,
} from '../../trust/index.js';
import { iso, whenHuman, type GitbackContext } from '../context.js';
import { paths } from '../../platform/paths.js';
import { loadRevocations } from '../envelopes.js';
import { FILES, type ProjectState } from '../state.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function genesisFounder(chain: TokenChain, delegations: Delegation[]): string {
  return delegations[0]?.prev_founder ?? (chain[0]?.issuer as string);
}

export function founderNow(s: ProjectState): string {
  return currentFounder(genesisFounder(s.chain, s.delegations), s.delegations);
}

/**
 * Verifies the caller's own chain offline (the envelope store is root's; the daemon adds
 * revocations). A tampered tokens.json or delegations.json fails here, naming the file.
 */
export function checkOwnChain(ctx: GitbackContext, s: ProjectState): { role: 'admin' | 'member'; founder: string } {
  const me = toHex(ctx.publicKey());
  const r = verifyChain({ projectId: s.config.project_id, chain: s.chain, delegations: s.delegations, revoked: new Map(), now: ctx.now(), presenter: me });
  if (!r.ok) {
    throw new VigoError(r.code, `your chain for ${s.config.handle} does not verify (${join(s.dir, FILES.tokens)}): ${humanizeTimes(r.message, ctx.now())}`, {
      hint:
        r.code === 'E_PRESENTER_MISMATCH'
          ? 'your puddle key changed since this chain was issued; ask an admin for a re-invitation (project rejoin)'
          : 'restore tokens.json / delegations.json, or ask an admin for a new invitation',
    });
  }
  return { role: r.role, founder: r.founder };
}

export function requireAdmin(ctx: GitbackContext, s: ProjectState, verb: string): void {
  if (s.config.tombstoned_at !== null) {
    throw new VigoError('E_TOMBSTONED', `project ${s.config.handle} (${s.config.project_id.slice(0, 12)}…) is tombstoned; ${verb} skips it`, {
      hint: s.config.successor ? `use the re-founded project ${s.config.successor}` : 'see `vigo swarm gitback project status`',
    });
  }
  const { role } = checkOwnChain(ctx, s);
  if (role !== 'admin') {
    throw new VigoError('E_NOT_ADMIN', `you are a member of ${s.config.handle}; only admins can ${verb}`, { hint: 'ask a project admin' });
  }
}

export function invitationFor(s: ProjectState, chain: TokenChain): Invitation {
  return {
    version: 1,
    project: { project_id: s.config.project_id, handle: s.config.handle, founder: s.config.founder, scope: s.config.scope },
    chain,
    delegations: s.delegations,
  };
}

export function fmtKey(hex: string): string {
  return formatPublicKey(hex);
}

export async function readInvitationText(ctx: GitbackContext, source: string | undefined): Promise<string> {
  if (source === undefined || source === '-') return ctx.readStdin();
  if (!existsSync(source)) throw new VigoError('E_NO_FILE', `invitation file ${source} does not exist`);
  return readFileSync(source, 'utf8');
}

/** Token id → why it no longer holds (revoked, left), from the envelope store when this user can read it (root). */
const LEFT_REASON = 'its holder left the project';

export function retiredTokens(ctx: GitbackContext, pid: string): Map<string, string | null> | null {
  try {
    const set = loadRevocations(paths.gitbackEnvelopes(ctx.env), pid, ctx.now());
    const retired = new Map(set.revoked);
    for (const id of set.left.keys()) if (!retired.has(id)) retired.set(id, LEFT_REASON);
    return retired;
  } catch {
    return null; // the store is root's (0700): a non-root founder sees only its own revokes
  }
}

export interface Standing {
  /** why the member is not re-invited, or null */
  skip: string | null;
  role: Role;
  expiresAt: number | null;
}

/** What a member's re-invitation grants: the role and expiry of the last token this user issued them. */
export function memberStanding(s: ProjectState, m: string, retired: Map<string, string | null> | null, now: number): Standing {
  const mine = Object.entries(s.config.issued ?? {}).filter(([, t]) => t.subject === m);
  const last = mine.sort(([, x], [, y]) => y.issued_at - x.issued_at)[0];
  const role = s.config.member_roles?.[m] ?? last?.[1].role ?? 'member';
  if (last === undefined) return { skip: null, role, expiresAt: null };
  const [id, t] = last;
  if (t.revoked_at !== null) return { skip: `revoked (token ${id.slice(0, 16)}…, ${iso(t.revoked_at)})`, role, expiresAt: null };
  const why = retired?.get(id);
  if (why !== undefined) return { skip: why === LEFT_REASON ? `left the project (token ${id.slice(0, 16)}…)` : `${why ?? 'revoked'} (token ${id.slice(0, 16)}…)`, role, expiresAt: null };
  if (t.expires_at !== null && t.expires_at <= now) {
    return { skip: `their invitation expired ${whenHuman(t.expires_at, now)}; re-invite by hand with \`project invite --expires\``, role, expiresAt: null };
  }
  return { skip: null, role, expiresAt: t.expires_at };
}
