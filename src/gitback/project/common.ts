/** Helpers shared by the project verbs: the caller's own chain check and invitations. */
import { VigoError } from '../../platform/errors.js';
import {
  currentFounder,
  formatPublicKey,
  toHex,
  verifyChain,
  type Delegation,
  type Invitation,
  type TokenChain,
} from '../../trust/index.js';
import type { GitbackContext } from '../context.js';
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
    throw new VigoError(r.code, `your chain for ${s.config.handle} does not verify (${join(s.dir, FILES.tokens)}): ${r.message}`, {
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
