/**
 * Founding verbs: `project init` (found + publish), `project reanchor` (a surviving member
 * hard-forks under itself) and `project re-found` (the founder resets an at-cap or
 * tombstoned chain). The two forks byte-migrate the old bare repo into the new one —
 * directly when run as root, else through the helper daemon's `migrate` request (which
 * checks the caller's chains for both projects).
 */
import { existsSync } from 'node:fs';
import { VigoError } from '../../platform/errors.js';
import {
  DELEGATION_MAX_LEN,
  mintBootstrapToken,
  projectId,
  toHex,
  validateHandle,
  type Scope,
  type Signer,
} from '../../trust/index.js';
import { bareRepo, confirmTyped, gate, socketPath, socketPresent, userBase, type GitbackContext } from '../context.js';
import { founderConfig, hasProject, resolveProject, saveConfig, saveProject, type ProjectConfig, type ProjectState } from '../state.js';
import { canonicalUrl } from '../url.js';
import { daemonRequest, daemonTimeoutMs } from '../remote-helper.js';
import { ensureBareRepo, fixHead, git, gitEnv, snapshotRefs } from '../daemon/git.js';
import { checkOwnChain, fmtKey, founderNow, memberStanding, retiredTokens } from './common.js';
import { ensureSwarmRemote, handleMismatchWarning, hasRefsToPush, pushAll, swarmRemoteUrl, workTreeTop } from './publish.js';
import { boundSigner } from '../bind-client.js';

export interface InitOptions {
  scope?: string;
  repo?: string;
  push?: boolean; // commander: --no-push sets false
}

function parseScope(s: string | undefined): Scope {
  if (s === undefined || s === 'swarm-wide') return 'swarm-wide';
  if (s === 'members-only') return 'members-only';
  throw new VigoError('E_USAGE', `--scope must be swarm-wide or members-only, not '${s}'`);
}

function urlLines(ctx: GitbackContext, pid: string, handle: string, founder: string): string[] {
  const claim = ctx.nameClaim();
  const hexUrl = canonicalUrl(pid, handle);
  if (claim && claim.pubkey === founder) return [`  URL:           gitback://${claim.name}/${handle}`, `  Canonical URL: ${hexUrl}`];
  return [`  URL:           ${hexUrl}`];
}

export async function projectInit(ctx: GitbackContext, handle: string, opts: InitOptions): Promise<void> {
  gate(ctx);
  validateHandle(handle);
  const scope = parseScope(opts.scope);
  const wantPush = opts.push !== false;
  let top: string | null = null;
  if (wantPush) {
    top = workTreeTop(opts.repo ?? ctx.cwd);
    if (top === null && opts.repo !== undefined) {
      throw new VigoError('E_NOT_A_WORK_TREE', `--repo ${opts.repo} is not a git work tree`, { hint: 'pass a work tree, or --no-push to register only' });
    }
  }
  const signer = await boundSigner(ctx);
  const me = toHex(signer.publicKey);
  const pid = projectId(signer.publicKey, handle);
  const base = userBase(ctx);
  if (hasProject(base, pid)) {
    throw new VigoError('E_EXISTS', `you already founded ${handle} (${pid})`, { hint: `publish it with \`vigo swarm gitback project push ${handle}\`` });
  }
  const now = ctx.now();
  const root = await mintBootstrapToken(signer, handle, now);
  const dir = saveProject(base, { config: founderConfig(pid, handle, me, scope, now), chain: [root], delegations: [] });
  ctx.out(`✓ Founded project ${handle}\n`);
  ctx.out([...urlLines(ctx, pid, handle, me), `  Founder:       ${fmtKey(me)}`, `  Scope:         ${scope}`, `  State:         ${dir}/`].join('\n') + '\n');
  if (!wantPush) {
    ctx.out(`\nRegistered only (--no-push). Publish later with \`vigo swarm gitback project push ${handle}\` from the work tree.\n`);
    return;
  }
  const later = `Publish later with \`cd <work tree> && vigo swarm gitback project push ${handle}\`.`;
  if (top === null) {
    ctx.out(`\nNot inside a git work tree: registered only. ${later}\n`);
    return;
  }
  if (!socketPresent(ctx)) {
    ctx.out(`\nThe gitback helper daemon is not running (${socketPath(ctx)}): registered only. Start the agent, then: ${later}\n`);
    return;
  }
  const existing = swarmRemoteUrl(top);
  if (existing !== null && existing !== canonicalUrl(pid, handle)) {
    ctx.out(`\nThe work tree already has a 'swarm' remote pointing elsewhere (${existing}): registered only.\n` +
      `Re-point and publish with \`vigo swarm gitback project push ${handle}\`.\n`);
    return;
  }
  const warn = handleMismatchWarning(top, handle);
  if (warn) ctx.err(warn + '\n');
  ctx.out(ensureSwarmRemote(ctx, top, pid, handle) + '\n');
  if (!hasRefsToPush(top)) {
    ctx.out(`\nThe work tree has no commits yet: nothing was published. Commit, then run \`vigo swarm gitback project push ${handle}\`.\n`);
    return;
  }
  pushAll(ctx, top);
  ctx.out(`\nPublished. Verify replication with \`vigocli swarm gitback show ${handle}\`.\n`);
}

/** Copies the old bare repo's refs into the new project's; returns a line to print. */
async function migrateBytes(ctx: GitbackContext, from: string, to: string): Promise<string> {
  const oldRepo = bareRepo(ctx, from);
  if (ctx.uid === 0) {
    if (!existsSync(oldRepo)) return `note: this envoy holds no bare repo for ${from.slice(0, 12)}…; only the local auth surface was rebuilt`;
    const newRepo = bareRepo(ctx, to);
    const env = gitEnv(ctx.env);
    ensureBareRepo(newRepo, env);
    git(['--git-dir', newRepo, 'fetch', '--quiet', oldRepo, '+refs/*:refs/*'], env);
    const refs = snapshotRefs(newRepo, env);
    await fixHead(newRepo, refs, env);
    const n = refs.size;
    return `✓ Migrated ${n} ref(s) from ${from.slice(0, 12)}… into ${to.slice(0, 12)}…`;
  }
  if (!socketPresent(ctx)) {
    return `note: not root and the helper daemon is not running: only the local auth surface was rebuilt; a root member holding the old bare repo can complete the migration`;
  }
  try {
    // the answer comes after the whole fetch: allow a large repo's copy, still bounded
    const { sock, resp } = await daemonRequest(socketPath(ctx), { v: 1, op: 'migrate', from, to }, { timeoutMs: Math.max(daemonTimeoutMs(ctx.env), 30 * 60_000) });
    sock.destroy();
    if (!resp.ok) return `note: the helper daemon did not migrate the bytes (${resp.message}); only the local auth surface was rebuilt`;
    const refs = (resp.status as { refs?: number } | undefined)?.refs ?? 0;
    return `✓ Migrated ${refs} ref(s) from ${from.slice(0, 12)}… into ${to.slice(0, 12)}… (through the helper daemon)`;
  } catch (e) {
    return `note: could not reach the helper daemon (${e instanceof Error ? e.message : String(e)}); only the local auth surface was rebuilt`;
  }
}

/**
 * Mints the new project. `carryMembers` (re-found) keeps the old members and the roles this
 * founder granted them, so `re-invite-all <new id>` can re-invite them; a reanchor starts
 * from [this fleet] and members are re-invited one by one with `project invite`.
 */
async function forkProject(ctx: GitbackContext, signer: Signer, old: ProjectState, newPid: string, carryMembers: boolean): Promise<{ dir: string; line: string }> {
  const now = ctx.now();
  const me = toHex(signer.publicKey);
  const root = await mintBootstrapToken(signer, old.config.handle, now);
  const retired = new Set([old.config.founder, ...old.delegations.map((d) => d.prev_founder)]);
  // revoked, departed and expired members do not come along (re-invite-all would skip them)
  const gone = carryMembers ? await retiredTokens(ctx, old.config.project_id) : null;
  const others = carryMembers ? old.config.members.filter((m) => m !== me && !retired.has(m) && memberStanding(old, m, gone, now).skip === null) : [];
  const roles = Object.fromEntries(Object.entries(old.config.member_roles ?? {}).filter(([k]) => others.includes(k)));
  // their invitations' records come along too, so re-invite-all keeps each one's expiry
  const issued = Object.fromEntries(Object.entries(old.config.issued ?? {}).filter(([, t]) => others.includes(t.subject)));
  const { member_roles: _dropped, issued: _droppedIssued, ...base } = old.config;
  const config: ProjectConfig = {
    ...base,
    ...(Object.keys(roles).length > 0 ? { member_roles: roles } : {}),
    ...(Object.keys(issued).length > 0 ? { issued } : {}),
    project_id: newPid,
    founder: me,
    members: [me, ...others],
    role: 'admin',
    created_at: now,
    tombstoned_at: null,
    successor: null,
  };
  const dir = saveProject(userBase(ctx), { config, chain: [root], delegations: [] });
  const line = await migrateBytes(ctx, old.config.project_id, newPid);
  return { dir, line };
}

export async function projectReanchor(ctx: GitbackContext, arg: string): Promise<void> {
  gate(ctx);
  const old = resolveProject(userBase(ctx), arg);
  const me = ctx.publicKey();
  const handle = old.config.handle;
  const newPid = projectId(me, handle);
  if (newPid === old.config.project_id) {
    throw new VigoError('E_ALREADY_FOUNDER', `you are already the founder of ${handle}: reanchor would be a no-op`, {
      hint: 'to reset your own chain use `project re-found`',
    });
  }
  if (founderNow(old) === toHex(me)) {
    throw new VigoError('E_ALREADY_FOUNDER', `you are the current founder of ${handle} (after a rekey): reanchor is for members whose founder is gone`, {
      hint: 'to reset your own chain use `project re-found`',
    });
  }
  if (hasProject(userBase(ctx), newPid)) throw new VigoError('E_EXISTS', `a project already exists locally under the new id ${newPid}`);
  checkOwnChain(ctx, old);
  const signer = await boundSigner(ctx); // before the prompt: a locked puddle fails first
  await confirmTyped(ctx, handle, [
    `Reanchoring ${handle} hard-forks it under your puddle (${fmtKey(toHex(me))}):`,
    `  - the old URL ${canonicalUrl(old.config.project_id, handle)} becomes dead for this fork`,
    `  - the new URL is ${canonicalUrl(newPid, handle)}; members must re-add the remote`,
    '  - tokens are not portable: every surviving member must be re-invited',
  ]);
  const { dir, line } = await forkProject(ctx, signer, old, newPid, false);
  ctx.out(`✓ Reanchored ${handle} under your puddle\n  New URL:       ${canonicalUrl(newPid, handle)}\n  Project ID:    ${newPid}\n  State:         ${dir}/\n${line}\n`);
  ctx.out(`Re-invite surviving members with \`vigo swarm gitback project invite ${newPid} --puddle <fp> --role <r>\`;\n` +
    `drop the old project with \`vigo swarm gitback project leave ${old.config.project_id}\` once the new one is healthy.\n`);
}

export async function projectRefound(ctx: GitbackContext, arg: string, opts: { force?: boolean }): Promise<void> {
  gate(ctx);
  const base = userBase(ctx);
  const old = resolveOldProject(base, arg);
  const me = toHex(ctx.publicKey());
  const handle = old.config.handle;
  const founder = founderNow(old);
  if (founder !== me && !orphanedToMe(ctx, old, founder)) {
    throw new VigoError('E_NOT_FOUNDER', `you are not the current founder of ${handle} (the founder is ${fmtKey(founder)})`, {
      hint: 'surviving members of a project whose founder is gone use `project reanchor`',
    });
  }
  const atCap = old.delegations.length >= DELEGATION_MAX_LEN;
  if (!atCap && old.config.tombstoned_at === null && opts.force !== true) {
    throw new VigoError('E_NOT_AT_CAP', `${handle}'s delegation chain is ${old.delegations.length}/${DELEGATION_MAX_LEN} and it is not tombstoned; re-found is not needed`, {
      hint: 'pass --force to reset the chain anyway',
    });
  }
  const newPid = projectId(Buffer.from(me, 'hex'), handle);
  if (newPid === old.config.project_id) {
    throw new VigoError('E_SAME_ID', `re-found would mint the same project id: you have not rekeyed since founding ${handle}`, {
      hint: 'run `vigo swarm puddle rekey-pair` first',
    });
  }
  if (hasProject(base, newPid)) throw new VigoError('E_EXISTS', `a project already exists locally under the new id ${newPid}`);
  const signer = await boundSigner(ctx); // before the prompt: a locked puddle fails first
  await confirmTyped(ctx, handle, [
    `Re-founding ${handle} mints a fresh project id from your current puddle key:`,
    `  - the old URL ${canonicalUrl(old.config.project_id, handle)} becomes dead (the old project is tombstoned)`,
    `  - the new URL ${canonicalUrl(newPid, handle)} must be communicated to every member`,
    `  - members must be re-invited (project re-invite-all ${newPid})`,
  ]);
  const { dir, line } = await forkProject(ctx, signer, old, newPid, true);
  saveConfig(base, { ...old.config, tombstoned_at: ctx.now(), successor: newPid });
  ctx.out(`✓ Re-founded ${handle}\n  New URL:       ${canonicalUrl(newPid, handle)}\n  Project ID:    ${newPid}\n  State:         ${dir}/\n${line}\n`);
  ctx.out(`  Old project ${old.config.project_id} is tombstoned (kept as an archive; the helper daemon refuses it).\n`);
  ctx.out(`Re-point your work tree with \`vigo swarm gitback project push ${handle}\`; re-invite members with \`vigo swarm gitback project re-invite-all ${newPid}\`.\n`);
}

/**
 * Decision (the page's founder test cannot hold after `rekey-pair --force-orphan-projects`:
 * the chain is at the cap, so the new key never becomes the current founder): re-found is
 * also open to the key the current founder handed an orphaned project to — a tombstoned
 * project with no successor whose caller holds a verifying admin chain issued directly by
 * the current founder ([its bootstrap, admin → you], what the rekey hook writes).
 */
function orphanedToMe(ctx: GitbackContext, old: ProjectState, founder: string): boolean {
  if (old.config.tombstoned_at === null || old.config.successor !== null) return false;
  if (old.chain.length !== 2 || old.chain[0]?.issuer !== founder || old.chain[1]?.issuer !== founder) return false;
  try {
    return checkOwnChain(ctx, old).role === 'admin';
  } catch {
    return false;
  }
}

/** re-found names the OLD project: prefer an at-cap or tombstoned match for a handle. */
function resolveOldProject(base: string, arg: string): ProjectState {
  return resolveProject(base, arg);
}
