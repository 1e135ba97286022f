/**
 * Membership verbs: invite, join, rejoin, re-invite-all (ADR-019), leave and revoke.
 * Envelopes (leave, revoke) are signed through the puddle session helper and written as
 * *.pending sentinels for the root reactor.
 */
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { VigoError, isVigoError } from '../../platform/errors.js';
import { humanizeTimes } from '../when.js';
import {
  formatInvitation,
  mintChildToken,
  mintLeave,
  mintRevoke,
  parseExpires,
  parseInvitation,
  parsePublicKey,
  parseStrictJson,
  projectId,
  toHex,
  tokenId,
  verifyInvitation,
  verifyRevoke,
  type Invitation,
  type Role,
} from '../../trust/index.js';
import { bareRepo, gate, requireRoot, userBase, whenHuman, type GitbackContext } from '../context.js';
import { FILES, loadAll, loadProject, matchBroken, resolveProject, saveConfig, saveProject, scanAll, writeSentinel, type BrokenProject, type ProjectConfig, type ProjectState } from '../state.js';
import { canonicalUrl } from '../url.js';
import { checkOwnChain, fmtKey, founderNow, invitationFor, memberStanding, readInvitationText, requireAdmin, retiredTokens } from './common.js';
import { bindIfUnlocked, boundSigner } from '../bind-client.js';

export interface InviteOptions {
  puddle?: string;
  /** the reference page's example spells --puddle as --fleet */
  fleet?: string;
  role: string;
  expires?: string;
}

function parseRole(r: string): Role {
  if (r === 'admin' || r === 'member') return r;
  throw new VigoError('E_USAGE', `--role must be admin or member, not '${r}'`);
}

function recipientKey(opts: InviteOptions): string {
  if (opts.puddle !== undefined && opts.fleet !== undefined && opts.puddle !== opts.fleet) {
    throw new VigoError('E_USAGE', '--puddle and --fleet name the same thing (the recipient’s puddle key); give one');
  }
  const k = opts.puddle ?? opts.fleet;
  if (k === undefined) throw new VigoError('E_USAGE', "required option '--puddle <fp>' not specified", { hint: 'the recipient prints it with `vigo swarm puddle pubkey`' });
  return k;
}

async function mintInvitation(ctx: GitbackContext, s: ProjectState, subject: string, role: Role, expiresAt: number | null): Promise<{ inv: Invitation; id: string }> {
  const signer = await boundSigner(ctx);
  let child;
  try {
    child = await mintChildToken(signer, s.chain, subject, role, ctx.now(), expiresAt);
  } catch (e) {
    if (isVigoError(e)) throw new VigoError(e.code, humanizeTimes(e.message, ctx.now()), e.hint !== undefined ? { hint: e.hint } : {});
    throw e;
  }
  return { inv: invitationFor(s, [...s.chain, child]), id: tokenId(child) };
}

export async function projectInvite(ctx: GitbackContext, arg: string, opts: InviteOptions): Promise<void> {
  gate(ctx);
  const s = resolveProject(userBase(ctx), arg);
  requireAdmin(ctx, s, 'invite');
  const subject = toHex(parsePublicKey(recipientKey(opts)));
  const role = parseRole(opts.role);
  const expiresAt = opts.expires === undefined ? null : ctx.now() + parseExpires(opts.expires);
  const { inv, id } = await mintInvitation(ctx, s, subject, role, expiresAt);
  const members = s.config.members.includes(subject) ? s.config.members : [...s.config.members, subject];
  const issued = { ...s.config.issued, [id]: { subject, role, issued_at: ctx.now(), expires_at: expiresAt, revoked_at: null } };
  saveConfig(userBase(ctx), { ...s.config, members, member_roles: { ...s.config.member_roles, [subject]: role }, issued });
  ctx.out(formatInvitation(inv));
  ctx.err(
    `✓ Invitation for ${fmtKey(subject)} as ${role} on ${s.config.handle} (expires ${expiresAt === null ? 'never' : whenHuman(expiresAt, ctx.now())})\n` +
      `  token id: ${id}\n` +
      `Send the JSON above to the recipient by any side channel; they run:\n` +
      `    vigo swarm gitback project join ${s.config.project_id} --invitation invite.json\n`,
  );
}

/** Parses and verifies an invitation for this user and this project argument. */
async function acceptInvitation(ctx: GitbackContext, arg: string, source: string | undefined): Promise<{ inv: Invitation; role: Role }> {
  const text = await readInvitationText(ctx, source);
  let inv: Invitation;
  try {
    inv = parseInvitation(text);
  } catch (e) {
    throw new VigoError('E_BAD_INVITATION', `the invitation is not valid: ${e instanceof Error ? e.message : String(e)}`, {
      hint: 'ask the admin to re-send the JSON exactly as `project invite` printed it',
    });
  }
  const p = inv.project;
  const lower = arg.toLowerCase();
  if (lower !== p.project_id && arg !== p.handle && !(lower.length >= 8 && p.project_id.startsWith(lower))) {
    throw new VigoError('E_WRONG_PROJECT', `this invitation is for project ${p.handle} (${p.project_id}), not '${arg}'`, {
      hint: 'check that you pasted the right invitation',
    });
  }
  if (projectId(Buffer.from(p.founder, 'hex'), p.handle) !== p.project_id) {
    throw new VigoError('E_WRONG_PROJECT', `the invitation's project id ${p.project_id} is not sha256(founder ‖ handle)`);
  }
  const me = toHex(ctx.publicKey());
  const r = verifyInvitation(inv, { revoked: new Map(), now: ctx.now(), presenter: me });
  if (!r.ok) {
    if (r.code === 'E_PRESENTER_MISMATCH') {
      const leaf = inv.chain[inv.chain.length - 1];
      throw new VigoError('E_PRESENTER_MISMATCH', `this invitation was issued for another puddle (${fmtKey(leaf?.subject ?? '?')}), not yours (${fmtKey(me)})`, {
        hint: `send the admin your key (\`vigo swarm puddle pubkey\`) and ask for an invitation for it`,
      });
    }
    throw new VigoError(r.code, `the invitation does not verify: ${humanizeTimes(r.message, ctx.now())}`, r.code === 'E_EXPIRED' ? { hint: 'ask the admin for a new invitation' } : {});
  }
  return { inv, role: r.role };
}

function configFromInvitation(inv: Invitation, role: Role, me: string, now: number, prev: ProjectConfig | null): ProjectConfig {
  const founderCur = inv.delegations[inv.delegations.length - 1]?.new_founder ?? inv.project.founder;
  const members = [...new Set([founderCur, ...(prev?.members ?? []).filter((m) => m !== inv.project.founder && !inv.delegations.some((d) => d.prev_founder === m)), me])];
  return {
    version: 1,
    project_id: inv.project.project_id,
    handle: inv.project.handle,
    founder: inv.project.founder,
    scope: inv.project.scope,
    members,
    role,
    created_at: prev?.created_at ?? now,
    cross_subnet_members: prev?.cross_subnet_members ?? [],
    // a (re)join never un-tombstones: an old re-invitation must not revive a re-founded project
    tombstoned_at: prev?.tombstoned_at ?? null,
    successor: prev?.successor ?? null,
  };
}

function joinedLines(s: { config: ProjectConfig; delegations: { length: number } }, dir: string, verb: string): string {
  const c = s.config;
  const lines = [
    `✓ ${verb} project ${c.handle}`,
    `  URL:        ${canonicalUrl(c.project_id, c.handle)}`,
    `  Role:       ${c.role === 'admin' ? 'Admin' : 'Member'}`,
    `  Members:    ${c.members.length}`,
    `  Scope:      ${c.scope}`,
  ];
  if (s.delegations.length > 0) lines.push(`  Delegations: ${s.delegations.length} hop(s) (chain anchors to genesis founder ${fmtKey(c.founder)})`);
  lines.push('', `State updated under ${dir}`);
  return lines.join('\n') + '\n';
}

export async function projectJoin(ctx: GitbackContext, arg: string, opts: { invitation?: string }): Promise<void> {
  gate(ctx);
  const { inv, role } = await acceptInvitation(ctx, arg, opts.invitation);
  const base = userBase(ctx);
  const pid = inv.project.project_id;
  const existing = loadProject(base, pid);
  if (existing) {
    throw new VigoError('E_EXISTS', `you already hold project ${inv.project.handle} (${pid})`, { hint: 'after a founder rekey use `project rejoin`' });
  }
  const me = toHex(ctx.publicKey());
  const config = configFromInvitation(inv, role, me, ctx.now(), null);
  const dir = saveProject(base, { config, chain: inv.chain, delegations: inv.delegations });
  ctx.out(joinedLines({ config, delegations: inv.delegations }, dir, 'Joined'));
  ctx.out(`Clone it with: git clone ${canonicalUrl(pid, inv.project.handle)}\n`);
  await bindIfUnlocked(ctx);
}

export async function projectRejoin(ctx: GitbackContext, arg: string, opts: { invitation?: string }): Promise<void> {
  gate(ctx);
  const base = userBase(ctx);
  let target = arg;
  try {
    target = resolveProject(base, arg).config.project_id;
  } catch {
    /* not held locally: rejoin then acts like join */
  }
  const { inv, role } = await acceptInvitation(ctx, target, opts.invitation);
  const prev = loadProject(base, inv.project.project_id);
  const me = toHex(ctx.publicKey());
  const config = configFromInvitation(inv, role, me, ctx.now(), prev?.config ?? null);
  // saveProject replaces tokens.json and delegations.json (an empty list clears stale
  // delegations) and leaves any *.pending sentinel alone.
  const dir = saveProject(base, { config, chain: inv.chain, delegations: inv.delegations });
  if (inv.delegations.length === 0 && existsSync(join(dir, FILES.delegations))) unlinkSync(join(dir, FILES.delegations));
  ctx.out(joinedLines({ config, delegations: inv.delegations }, dir, 'Re-joined').replace(`project ${config.handle}\n`, `project ${config.handle} (chain refreshed)\n`));
  await bindIfUnlocked(ctx);
}

export async function projectReinviteAll(ctx: GitbackContext, arg: string | undefined): Promise<void> {
  gate(ctx);
  const base = userBase(ctx);
  const me = toHex(ctx.publicKey());
  let candidates: ProjectState[];
  if (arg === undefined) candidates = loadAll(base);
  else {
    const one = resolveProject(base, arg);
    const c = one.config;
    if (c.tombstoned_at !== null) {
      // name the real reason: the project is an archive, whoever its founder is
      throw new VigoError('E_TOMBSTONED', `${c.handle} (${c.project_id.slice(0, 12)}…) is tombstoned${c.successor ? ` (re-founded as ${c.successor.slice(0, 12)}…)` : ' (orphaned at the delegation cap)'}; re-invite-all skips tombstoned projects`, {
        hint: c.successor ? `re-invite on the new project: vigo swarm gitback project re-invite-all ${c.successor}` : `re-found it first: vigo swarm gitback project re-found ${c.handle}`,
      });
    }
    candidates = [one];
  }
  const founded = candidates.filter((s) => s.config.tombstoned_at === null && founderNow(s) === me);
  if (founded.length === 0) {
    throw new VigoError('E_NOT_FOUNDER', arg === undefined ? 'you are not the current founder of any live project' : `you are not the current founder of ${arg}`, {
      hint: 'the founder predicate compares the last delegation (or the genesis founder) with your puddle key',
    });
  }
  let printed = 0;
  let notReinvited = 0;
  const skipped: string[] = [];
  const now = ctx.now();
  for (const s of founded) {
    checkOwnChain(ctx, s);
    const others = s.config.members.filter((m) => m !== me);
    if (others.length === 0) {
      skipped.push(s.config.handle);
      continue;
    }
    const retired = await retiredTokens(ctx, s.config.project_id);
    const issued = { ...s.config.issued };
    for (const m of others) {
      const st = memberStanding(s, m, retired, now);
      if (st.skip !== null) {
        ctx.err(`─── not re-inviting ${fmtKey(m).slice(0, 20)}… on '${s.config.handle}': ${st.skip} ───\n`);
        notReinvited++;
        continue;
      }
      const { inv, id } = await mintInvitation(ctx, s, m, st.role, st.expiresAt);
      issued[id] = { subject: m, role: st.role, issued_at: now, expires_at: st.expiresAt, revoked_at: null };
      // the token id is what `project revoke --token-id` needs later
      const exp = st.expiresAt === null ? '' : `, expires ${whenHuman(st.expiresAt, now)}`;
      ctx.err(`─── re-invite for project '${s.config.handle}' → ${fmtKey(m).slice(0, 20)}… (${st.role}${exp}, token ${id}) ───\n`);
      ctx.out(formatInvitation(inv));
      printed++;
    }
    saveConfig(base, { ...s.config, issued });
  }
  ctx.err(`\n✓ ${printed} re-invite invitation(s) printed across founded multi-puddle project(s).\n`);
  if (notReinvited > 0) ctx.err(`  ${notReinvited} member(s) not re-invited (revoked, departed or expired: see above).\n`);
  if (skipped.length > 0) ctx.err(`  Skipped ${skipped.length} single-puddle project(s) (no cross-puddle members): ${skipped.join(', ')}\n`);
  ctx.err('\nCommunicate each JSON block out-of-band to the matching member puddle,\nthen have them run:\n    vigo swarm gitback project rejoin <project_id> --invitation -\n');
}

export async function projectLeave(ctx: GitbackContext, arg: string, opts: { purge?: boolean; yes?: boolean }): Promise<void> {
  gate(ctx);
  if (opts.purge === true) requireRoot(ctx, 'leave --purge');
  const base = userBase(ctx);
  let s: ProjectState | null = null;
  let broken: BrokenProject | null = null;
  let pid: string;
  try {
    s = resolveProject(base, arg);
    pid = s.config.project_id;
  } catch (e) {
    // a project whose state does not load can still be dropped; root may purge a bare
    // repo it holds no membership for
    broken = matchBroken(scanAll(base).broken, arg);
    if (broken === null && (opts.purge !== true || !/^[0-9a-f]{64}$/.test(arg.toLowerCase()))) throw e;
    pid = broken?.project_id ?? arg.toLowerCase();
  }
  const what = s ? `${s.config.handle} (${pid})` : broken ? `${pid} (broken: its state does not load)` : pid;
  // take the signer before the prompt: a locked puddle fails before the user answers
  const signer = s ? await boundSigner(ctx) : null;
  if (opts.yes !== true) {
    const a = (await ctx.prompt(`Leave project ${what}${opts.purge ? ' and delete its bare repo on this envoy' : ''}? [y/N] `)).trim().toLowerCase();
    if (a !== 'y' && a !== 'yes') throw new VigoError('E_NOT_CONFIRMED', 'not confirmed; nothing changed', { hint: 'pass --yes to skip the prompt' });
  }
  if (s && signer && s.chain.length === 1) {
    // a founder's chain is only the root, which a leave never retires (E_LEAVE_ROOT)
    for (const f of [FILES.project, FILES.tokens, FILES.delegations]) rmSync(join(s.dir, f), { force: true });
    if (readdirSync(s.dir).length === 0) rmdirSync(s.dir); // (a queued revoke.pending keeps it for the reactor)
    ctx.out(`✓ Left ${what}\n  No LEAVE envelope: you are its founder, and a leave never retires the project's root (members keep access; re-found the project to end it)\n  Local state removed (project.json, tokens.json, delegations.json)\n`);
  } else if (s && signer) {
    // the leave carries the leaver's chain: it proves the token given up is the signer's own
    const env = await mintLeave(signer, s.chain, s.delegations, ctx.now());
    writeSentinel(s.dir, FILES.leavePending, env);
    for (const f of [FILES.project, FILES.tokens, FILES.delegations]) rmSync(join(s.dir, f), { force: true });
    ctx.out(`✓ Left ${what}\n  LEAVE envelope queued: ${join(s.dir, FILES.leavePending)} (the agent's reactor stores it within its sweep interval)\n  Local state removed (project.json, tokens.json, delegations.json)\n`);
  } else if (broken) {
    dropBrokenState(broken);
    ctx.out(`✓ Removed the unreadable local state of ${pid} (${broken.dir})\n` +
      `  note: no LEAVE envelope was signed (the chain could not be read: ${broken.error}); if peers must learn of it, ask an admin to revoke your token\n`);
  } else {
    ctx.out(`note: you hold no local state for ${pid}; no LEAVE envelope was signed\n`);
  }
  if (opts.purge === true) {
    const repo = bareRepo(ctx, pid);
    if (existsSync(repo)) {
      rmSync(repo, { recursive: true, force: true });
      ctx.out(`✓ Removed the bare repo ${repo}\n`);
    } else ctx.out(`note: no bare repo at ${repo}\n`);
  }
}

/** Removes a broken project's state files (sentinels stay for the reactor; an emptied dir goes). */
function dropBrokenState(b: BrokenProject): void {
  for (const f of [FILES.project, FILES.tokens, FILES.delegations]) rmSync(join(b.dir, f), { force: true });
  if (readdirSync(b.dir).length === 0) rmdirSync(b.dir);
}

/**
 * A revoke of a token in your own chain locks you (and everyone under that token) out of
 * the project until the envelope is reaped: refused unless --force, and then said.
 */
function checkRevokeTarget(ctx: GitbackContext, s: ProjectState, tid: string, force: boolean): void {
  const pos = s.chain.findIndex((t) => tokenId(t) === tid);
  if (pos >= 0) {
    const which = pos === 0 ? "the project's root token (chain[0])" : `chain[${pos}] of your own chain`;
    const effect =
      `revoking it locks you out of ${s.config.handle}${pos === 0 ? ', and every member with you' : ', and everyone invited under it'}: ` +
      'every fetch and push presenting it is refused on each envoy that stores the revocation, until the envelope is reaped (90 days)';
    if (!force) {
      throw new VigoError('E_SELF_LOCKOUT', `token ${tid.slice(0, 16)}… is ${which}; ${effect}`, {
        hint: 'to revoke a member use the token id `project invite` / `re-invite-all` printed for them; pass --force only if you mean to lock yourself out',
      });
    }
    ctx.err(`warning: --force: token ${tid.slice(0, 16)}… is ${which}; ${effect}\n`);
    return;
  }
  if (s.config.issued?.[tid] === undefined) {
    ctx.err(`warning: token ${tid.slice(0, 16)}… is not one you have seen: it is in neither your chain for ${s.config.handle} nor any invitation you issued; queued anyway (it takes effect if it is in someone's chain below you)\n`);
  }
}

export async function projectRevoke(ctx: GitbackContext, arg: string, opts: { tokenId: string; reason?: string; force?: boolean }): Promise<void> {
  gate(ctx);
  const s = resolveProject(userBase(ctx), arg);
  requireAdmin(ctx, s, 'revoke');
  const tid = opts.tokenId.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(tid)) throw new VigoError('E_USAGE', `--token-id must be 64 hex characters, not '${opts.tokenId}'`);
  checkRevokeTarget(ctx, s, tid, opts.force === true);
  const signer = await boundSigner(ctx);
  const now = ctx.now();
  const env = await mintRevoke(signer, s.chain, s.delegations, tid, opts.reason ?? null, now);
  verifyRevoke(env, s.config.project_id, now); // refuses e.g. revoking a token above your own
  const file = join(s.dir, FILES.revokePending);
  const queued: unknown[] = existsSync(file) ? (parseStrictJson(readFileSync(file, 'utf8'), { what: file }) as unknown[]) : [];
  writeSentinel(s.dir, FILES.revokePending, [...(Array.isArray(queued) ? queued : [queued]), env]);
  const known = s.config.issued?.[tid];
  if (known) saveConfig(userBase(ctx), { ...s.config, issued: { ...s.config.issued, [tid]: { ...known, revoked_at: now } } });
  ctx.out(`✓ Revocation of token ${tid} queued for ${s.config.handle}\n  ${file} (the agent's reactor stores it in the envelope store within its sweep interval; from then on the helper daemon refuses that token)\n`);
}
