/**
 * `vigo swarm puddle leave` (docs/puddle.md "Leaving an envoy"): removes this user's puddle
 * from THIS envoy only — the wrapped key files and the session (src/puddle/leave.ts), the
 * user's gitback state here (~/.vigo-gitback) and this uid's binding (the helper daemon's
 * `unbind`) — after a typed confirmation. The puddle
 * lives on on its other envoys, so the verb refuses when nothing shows another copy,
 * unless --yes-last-copy.
 *
 * "Another copy" is decided from the announced-projects cache (gitback-announced.json), the
 * only cross-envoy view a user can read. A host that announces a members-only project this
 * puddle founded (its id recomputes as sha256(pubkey ‖ handle)), whose copy here lists no
 * member but this puddle, holds those bytes only because a local user there holds a member's
 * chain — and the only member is this puddle. A swarm-wide project proves nothing (every
 * gitback envoy holds its bytes); no cache, or no such entry, is "unknown" and counts as the
 * last copy. The decision is pure (decideLastCopy); the verb gathers and removes.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VigoError } from '../platform/errors.js';
import { paths } from '../platform/paths.js';
import { removePuddleFiles } from '../puddle/index.js';
import { fromHex, projectId, toHex, type Hex, type Scope } from '../trust/index.js';
import { ANNOUNCED_CACHE_FILE, checkAnnouncedEntry, parseAnnouncedCache, type AnnouncedCache } from '../wire/gitback-announced.js';
import { bindingPath } from './binding.js';
import { unbindFromEnvoy } from './bind-client.js';
import { daemonTimeoutMs } from './remote-helper.js';
import { socketPath, socketPresent, type GitbackContext } from './context.js';
import { FILES, listProjectIds, loadProject, projectDir } from './state.js';

export interface LocalProjectView {
  projectId: Hex;
  handle: string;
  scope: Scope;
  members: Hex[];
}

export interface LastCopyDecision {
  /** true: nothing shows another envoy holding this puddle (unknown counts as last) */
  lastCopy: boolean;
  /** hosts shown to hold the puddle, sorted */
  otherHosts: string[];
  /** one line per piece of evidence, for the confirmation and --json */
  evidence: string[];
}

export function decideLastCopy(input: { pubkey: Hex; cache: AnnouncedCache | null; local: readonly LocalProjectView[] }): LastCopyDecision {
  const key = fromHex(input.pubkey);
  const local = new Map(input.local.map((p) => [p.projectId, p]));
  const hosts = new Set<string>();
  const evidence: string[] = [];
  for (const e of input.cache?.projects ?? []) {
    if (e.handle === null || e.dr_scope !== 'members-only' || !checkAnnouncedEntry(e).ok) continue;
    if (projectId(key, e.handle) !== e.project_id) continue;
    const here = local.get(e.project_id);
    // members-only bytes land only where a member's puddle is; only when this puddle is the
    // sole member is that member this puddle
    if (here === undefined || here.members.some((m) => m !== input.pubkey)) continue;
    for (const h of e.hosts) hosts.add(h);
    evidence.push(`${e.hosts.join(', ')} announce${e.hosts.length === 1 ? 's' : ''} ${e.handle} (members-only, founded by this puddle, no other member)`);
  }
  return { lastCopy: hosts.size === 0, otherHosts: [...hosts].sort(), evidence };
}

export interface PuddleLeaveResult {
  left: true;
  pubkey: Hex;
  last_copy: boolean;
  other_hosts: string[];
  evidence: string[];
  removed: { puddle_dir: string; puddle_files: string[]; session_locked: boolean; gitback_dir: string | null; projects: number };
  /** the projects whose local state went, and who else announces them */
  projects: Array<{ project_id: Hex; handle: string; held_on: string[] }>;
  /** removed: through the helper daemon's unbind; none: there was none; kept: it could not be removed (note says why and what root does) */
  binding: { path: string; state: 'removed' | 'none' | 'kept'; note: string };
}

function readCache(ctx: GitbackContext): AnnouncedCache | null {
  const file = join(paths.gitbackBase(ctx.env), ANNOUNCED_CACHE_FILE);
  if (!existsSync(file)) return null;
  try {
    return parseAnnouncedCache(readFileSync(file), file);
  } catch (e) {
    ctx.err(`warning: ${e instanceof Error ? e.message : String(e)}; other copies of your puddle are unknown\n`);
    return null;
  }
}

export async function puddleLeave(ctx: GitbackContext, opts: { yes?: boolean; yesLastCopy?: boolean }): Promise<PuddleLeaveResult> {
  const dir = paths.puddleDir(ctx.env);
  if (!existsSync(join(dir, 'identity.pub'))) {
    throw new VigoError('E_PUDDLE_NOT_INITIALIZED', `there is no puddle on this envoy (${dir})`, { hint: 'nothing to leave' });
  }
  const pub = toHex(ctx.publicKey());
  const base = paths.gitbackUserDir(ctx.env);
  const local: LocalProjectView[] = [];
  for (const pid of listProjectIds(base)) {
    const d = projectDir(base, pid);
    // a signed envelope not swept yet would be lost with the directory
    for (const f of [FILES.leavePending, FILES.revokePending]) {
      if (existsSync(join(d, f))) {
        throw new VigoError('E_PENDING_ENVELOPE', `${join(d, f)} is a signed envelope the agent has not swept yet; leaving now would lose it`, {
          hint: 'wait for the agent reactor (it sweeps every 60 s), then run `vigo swarm puddle leave` again',
        });
      }
    }
    try {
      const s = loadProject(base, pid);
      if (s !== null) local.push({ projectId: pid, handle: s.config.handle, scope: s.config.scope, members: s.config.members });
    } catch {
      // a broken project directory is removed with the rest; it counts for nothing
    }
  }
  const cache = readCache(ctx);
  const decision = decideLastCopy({ pubkey: pub, cache, local });
  if (decision.lastCopy && opts.yesLastCopy !== true) {
    throw new VigoError('E_LAST_COPY', `nothing shows another envoy holding this puddle (ed25519:${pub.slice(0, 16)}…): leaving would destroy it`, {
      hint: 'pair it to another envoy first (`vigo swarm puddle pair`), or pass --yes-last-copy to destroy it on purpose',
    });
  }
  const projects = local.map((p) => ({
    project_id: p.projectId,
    handle: p.handle,
    held_on: [...new Set((cache?.projects ?? []).filter((e) => e.project_id === p.projectId && checkAnnouncedEntry(e).ok).flatMap((e) => e.hosts))].sort(),
  }));
  if (opts.yes !== true) {
    const lines = [
      `Leaving removes your puddle (ed25519:${pub.slice(0, 16)}…) from THIS envoy only:`,
      `  - ${dir}/ (the wrapped key, retired keys, name claim; an unlocked session is locked first)`,
      `  - ${base}/ (${local.length} project(s): your tokens and state here; no LEAVE is signed)`,
      decision.lastCopy ? '  - THIS IS THE LAST KNOWN COPY: the key is gone for good' : `  - the puddle lives on on: ${decision.otherHosts.join(', ')}`,
    ];
    for (const l of lines) ctx.err(l + '\n');
    const answer = (await ctx.prompt("Type 'leave' to confirm: ")).trim();
    if (answer !== 'leave') {
      throw new VigoError('E_NOT_CONFIRMED', answer === '' ? 'not confirmed: nothing was typed' : `not confirmed: '${answer}' is not 'leave'`, {
        hint: "type leave exactly (from a script: echo leave | vigo swarm puddle leave), or pass --yes",
      });
    }
  }
  const p = await removePuddleFiles(dir);
  const hadBase = existsSync(base);
  if (hadBase) rmSync(base, { recursive: true, force: true });
  const binding = await dropBinding(ctx);
  return {
    left: true,
    pubkey: pub,
    last_copy: decision.lastCopy,
    other_hosts: decision.otherHosts,
    evidence: decision.evidence,
    removed: { puddle_dir: dir, puddle_files: p.removed, session_locked: p.locked, gitback_dir: hadBase ? base : null, projects: local.length },
    projects,
    binding,
  };
}

/** This uid's binding goes through the helper daemon's `unbind` (root owns the file); without the daemon it stays, said so. */
async function dropBinding(ctx: GitbackContext): Promise<PuddleLeaveResult['binding']> {
  const path = bindingPath(ctx.env, ctx.uid);
  const kept = (why: string): PuddleLeaveResult['binding'] => ({
    path,
    state: 'kept',
    note: `${path} stays (${why}); it names a key no file here holds any more and grants nothing without your tokens; root removes it with \`sudo rm ${path}\`, and a later unlock of any puddle replaces it`,
  });
  if (!existsSync(path)) return { path, state: 'none', note: 'no binding for your uid on this envoy' };
  if (!socketPresent(ctx)) return kept(`the helper daemon is not running: ${socketPath(ctx)}`);
  try {
    const removed = await unbindFromEnvoy(socketPath(ctx), daemonTimeoutMs(ctx.env));
    return removed === null ? { path, state: 'none', note: 'no binding for your uid on this envoy' } : { path, state: 'removed', note: `removed through the helper daemon (${path})` };
  } catch (e) {
    return kept(`the helper daemon did not remove it: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The human form of the result. */
export function formatPuddleLeave(r: PuddleLeaveResult): string {
  const out = [`✓ Left this envoy: your puddle (ed25519:${r.pubkey.slice(0, 16)}…) and its gitback state are gone from here`];
  out.push(`  Removed:   ${r.removed.puddle_dir}/ (${r.removed.puddle_files.length} file(s)${r.removed.session_locked ? '; the session was locked first' : ''})`);
  if (r.removed.gitback_dir !== null) out.push(`  Removed:   ${r.removed.gitback_dir}/ (${r.removed.projects} project(s))`);
  out.push(`  Binding:   ${r.binding.note}`);
  out.push(r.last_copy ? '  Puddle:    that was the last known copy (--yes-last-copy)' : `  Puddle:    lives on on ${r.other_hosts.join(', ')}`);
  for (const p of r.projects) {
    out.push(p.held_on.length > 0 ? `  Project:   ${p.handle} remains joined, held on ${p.held_on.join(', ')}` : `  Project:   ${p.handle}: no other envoy announces it`);
  }
  if (r.projects.length > 0) out.push('No LEAVE was signed: to leave a project itself, run `vigo swarm gitback project leave` on an envoy that holds the puddle.');
  return out.join('\n') + '\n';
}
