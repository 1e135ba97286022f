/**
 * gitback's puddle rekey hook (ADR-019). On `puddle rekey-pair`, for every project the
 * user founds (the current founder is the old key): append a delegation old → new, rebuild
 * tokens.json as [bootstrap by the old founder, admin child for the new key] (both signed
 * inside the old key's authority window, which the delegation closes), and rewrite member
 * entries old → new everywhere. At the cap (DELEGATION_MAX_LEN) it refuses in preflight,
 * naming the projects and --force-orphan-projects; with that flag it tombstones them.
 * Idempotent: a project whose last delegation already names the new key is skipped.
 */
import { join } from 'node:path';
import { homedir } from 'node:os';
import { VigoError } from '../platform/errors.js';
import {
  DELEGATION_MAX_LEN,
  DELEGATION_WARN_LEN,
  mintBootstrapToken,
  mintChildToken,
  mintDelegation,
  toHex,
  type Signer,
} from '../trust/index.js';
import { loadAll, saveConfig, saveProject, scanAll, type ProjectState } from './state.js';
import { founderNow } from './project/common.js';

export interface RekeyHookContext {
  oldSigner: Signer;
  newPublicKey: Uint8Array;
  now: number;
  forceOrphanProjects: boolean;
  home: string;
}

function base(home: string): string {
  return join(home || homedir(), '.vigo-gitback');
}

function founded(states: ProjectState[], oldHex: string): ProjectState[] {
  return states.filter((s) => s.config.tombstoned_at === null && founderNow(s) === oldHex);
}

export function rekeyPreflight(ctx: { oldPublicKey: Uint8Array; forceOrphanProjects: boolean; home: string }): void {
  const oldHex = toHex(ctx.oldPublicKey);
  const atCap = founded(loadAll(base(ctx.home)), oldHex).filter((s) => s.delegations.length >= DELEGATION_MAX_LEN);
  if (atCap.length > 0 && !ctx.forceOrphanProjects) {
    throw new VigoError('E_DELEGATION_CAP', `gitback: ${atCap.map((s) => s.config.handle).join(', ')} ${atCap.length === 1 ? 'is' : 'are'} at the delegation cap (${DELEGATION_MAX_LEN}); a rekey cannot extend ${atCap.length === 1 ? 'its' : 'their'} chain (pass --force-orphan-projects to tombstone ${atCap.length === 1 ? 'it' : 'them'})`, {
      hint: 're-found first: vigo swarm gitback project re-found <handle>',
    });
  }
}

export async function runRekeyHook(ctx: RekeyHookContext): Promise<string[]> {
  const b = base(ctx.home);
  const oldHex = toHex(ctx.oldSigner.publicKey);
  const newHex = toHex(ctx.newPublicKey);
  const lines: string[] = [];
  const { projects, broken } = scanAll(b);
  for (const x of broken) lines.push(`gitback: warning: ${x.project_id.slice(0, 16)}… skipped, its state does not load: ${x.error}`);
  for (const s of projects) {
    const c = s.config;
    const members = c.members.map((m) => (m === oldHex ? newHex : m));
    const last = s.delegations[s.delegations.length - 1];
    if (last?.new_founder === newHex) continue; // already done (a resumed rekey)
    if (c.tombstoned_at !== null || founderNow(s) !== oldHex) {
      if (members.some((m, i) => m !== c.members[i])) {
        saveConfig(b, { ...c, members });
        lines.push(`gitback: ${c.handle}: member entry rewritten to the new key${c.role === 'member' || founderNow(s) !== oldHex ? '; ask an admin for a re-invitation (your token names the old key)' : ''}`);
      }
      continue;
    }
    if (s.delegations.length >= DELEGATION_MAX_LEN) {
      if (!ctx.forceOrphanProjects) throw new VigoError('E_DELEGATION_CAP', `gitback: ${c.handle} is at the delegation cap`, { hint: 'pass --force-orphan-projects, or re-found first' });
      // The chain cannot grow, but the old key (still the current founder) hands the new key
      // an admin token for the archive, so the new key can re-found it and copy its refs.
      const root = await mintBootstrapToken(ctx.oldSigner, c.handle, ctx.now, { projectId: c.project_id });
      const admin = await mintChildToken(ctx.oldSigner, [root], ctx.newPublicKey, 'admin', ctx.now, null);
      saveProject(b, { config: { ...c, members, role: 'admin', tombstoned_at: ctx.now }, chain: [root, admin], delegations: s.delegations });
      lines.push(`gitback: ${c.handle}: at the delegation cap — tombstoned (--force-orphan-projects); your new key holds an admin token on the archive: re-found it with \`vigo swarm gitback project re-found ${c.handle}\``);
      continue;
    }
    const delegation = await mintDelegation(ctx.oldSigner, c.project_id, s.delegations, ctx.newPublicKey, ctx.now);
    const root = await mintBootstrapToken(ctx.oldSigner, c.handle, ctx.now, { projectId: c.project_id });
    const admin = await mintChildToken(ctx.oldSigner, [root], ctx.newPublicKey, 'admin', ctx.now, null);
    const delegations = [...s.delegations, delegation];
    saveProject(b, { config: { ...c, members, role: 'admin' }, chain: [root, admin], delegations });
    const n = delegations.length;
    const band = n >= DELEGATION_MAX_LEN ? ' — AT CAP: the next rekey needs a re-found' : n >= DELEGATION_WARN_LEN ? ' — warn band: plan a re-found' : '';
    lines.push(`gitback: ${c.handle}: delegation ${n}/${DELEGATION_MAX_LEN} appended (founder → ed25519:${newHex.slice(0, 16)}…)${band}`);
    if (members.length > 1) lines.push(`gitback: ${c.handle}: has cross-puddle members; run \`vigo swarm gitback project re-invite-all\``);
  }
  return lines;
}
