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
import { iso, socketPath, whenHuman, type GitbackContext } from '../context.js';
import { daemonRequest, daemonTimeoutMs } from '../remote-helper.js';
import { retiredEntries, type RetiredEntry } from '../daemon/protocol.js';
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

/** Token id → why it no longer holds (revoked, left). */
const LEFT_REASON = 'its holder left the project';

function retiredMap(entries: RetiredEntry[]): Map<string, string | null> {
  const retired = new Map<string, string | null>();
  for (const e of entries) if (!retired.has(e.token_id)) retired.set(e.token_id, e.why === 'left' ? LEFT_REASON : e.reason);
  return retired;
}

function isRetiredEntry(e: unknown): e is RetiredEntry {
  const o = e as Partial<RetiredEntry> | null;
  return typeof o === 'object' && o !== null && typeof o.token_id === 'string' && (o.why === 'revoked' || o.why === 'left') && (o.reason === null || typeof o.reason === 'string');
}

/**
 * Every revoke and leave in force for pid: read from the envelope store as root; otherwise
 * asked of the helper daemon (`retired`, answered only to a caller holding state for pid).
 * null, with one warning on stderr, when neither answers: the caller then knows only the
 * revokes it signed itself (project.json's issued[].revoked_at).
 */
export async function retiredTokens(ctx: GitbackContext, pid: string): Promise<Map<string, string | null> | null> {
  if (ctx.uid === 0) {
    try {
      const set = loadRevocations(paths.gitbackEnvelopes(ctx.env), pid, ctx.now());
      return retiredMap(retiredEntries(set));
    } catch (e) {
      return warnNoRetired(ctx, pid, `the envelope store is unreadable: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let why: string;
  try {
    const { sock, resp } = await daemonRequest(socketPath(ctx), { v: 1, op: 'retired', project_id: pid }, { timeoutMs: daemonTimeoutMs(ctx.env) });
    sock.destroy();
    if (resp.ok) {
      const list = (resp.status as { retired?: unknown } | undefined)?.retired;
      if (Array.isArray(list) && list.every(isRetiredEntry)) return retiredMap(list);
      why = 'the helper daemon sent a malformed answer';
    } else {
      why = `the helper daemon refused: ${resp.code} ${resp.message}`;
    }
  } catch (e) {
    why = `the helper daemon is not answering: ${e instanceof Error ? e.message : String(e)}`;
  }
  return warnNoRetired(ctx, pid, why);
}

function warnNoRetired(ctx: GitbackContext, pid: string, why: string): null {
  ctx.err(
    `warning: could not learn other admins' revokes and members' leaves for project ${pid.slice(0, 12)}… (${why}), so members revoked or departed in the store may be re-invited: check with \`vigo swarm gitback project status\`\n`,
  );
  return null;
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
