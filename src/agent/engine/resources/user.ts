import { execFileSync } from 'node:child_process';
import { closeSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeAt } from '../write.js';
import { VigoError } from '../../../platform/errors.js';
import { O, fstatFd, fstatat, openDirNoFollow, openat, readdirFd, unlinkat, withFd, type FsAtError } from '../../../platform/fsat.js';
import { outcome, sweepOnce, type ApplyContext, type Outcome } from '../context.js';
import { linkRisk } from '../sandbox.js';
import { isValidUserName } from '../../../wire/bundle-schema.js';
import type { UserResource } from '../../../wire/bundle.js';
import type { UsercratePolicy } from '../types.js';

/** The policy file is world-readable: the gitback CLI reads it as the calling user. */
export const POLICY_FILE_MODE = 0o644;
const POLICY_DIR_MODE = 0o755;

export function usercratePolicyPath(dir: string, user: string): string {
  if (!isValidUserName(user)) throw new Error(`invalid user name "${user}"`);
  return join(dir, `${user}.json`);
}

export function renderPolicy(p: UsercratePolicy): string {
  return JSON.stringify(p, null, 2) + '\n';
}

function manageAccount(r: UserResource, ctx: ApplyContext): string[] {
  if (r.manage !== true) return [];
  const exists = ctx.accounts.userExists(r.name);
  const present = r.state !== 'absent';
  if (present === exists) return [];
  if (!ctx.dryRun) {
    try {
      // userdel without -r: the home directory is data and stays
      execFileSync(present ? 'useradd' : 'userdel', present ? ['-m', r.name] : [r.name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const err = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim() ?? String(e);
      throw new Error(`${present ? 'useradd' : 'userdel'} ${r.name} failed: ${err}`);
    }
  }
  return [present ? 'account created' : 'account removed'];
}

/**
 * The policy directory, opened by fd from '/' (root's links followed, nobody else's);
 * null when it does not exist and `create` is false.
 */
function openPolicyDir(dir: string, create: boolean): number | null {
  try {
    return openDirNoFollow(dir, {
      followSymlink: (_p, uid, holder) => linkRisk(uid, holder) === null,
      // readable by every user (the gitback CLI runs as them), whatever the agent's umask
      ...(create ? { create: { mode: POLICY_DIR_MODE } } : {}),
    });
  } catch (e) {
    if (!create && (e as FsAtError).code === 'ENOENT') return null;
    throw e;
  }
}

/** The policy file's bytes when it is a regular file this agent owns with the right mode, else null. */
function ownPolicyText(dirfd: number, name: string): string | null {
  const st = fstatat(dirfd, name);
  if (st === null || st.kind !== 'file') return null;
  return withFd(openat(dirfd, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK), (fd) => {
    const cur = fstatFd(fd);
    const mine = cur.kind === 'file' && (cur.mode & 0o7777) === POLICY_FILE_MODE && cur.uid === (process.getuid?.() ?? 0);
    return mine ? readFileSync(fd, 'utf8') : null;
  });
}

export function applyUser(r: UserResource, ctx: ApplyContext): Outcome {
  const name = basename(usercratePolicyPath(ctx.usercratePolicyDir, r.name));
  const changes = manageAccount(r, ctx);
  const policy: UsercratePolicy = { version: 1, user: r.name, puddle: r.puddle ?? false, gitback: r.gitback ?? false, source: r.id };
  const text = renderPolicy(policy);
  let dirfd = openPolicyDir(ctx.usercratePolicyDir, false);
  try {
    if (dirfd !== null) changes.push(...sweepOnce(ctx, dirfd));
    if (r.state === 'absent') {
      if (dirfd !== null && fstatat(dirfd, name) !== null) {
        if (!ctx.dryRun) unlinkat(dirfd, name);
        changes.push('usercrate policy removed');
      }
      return outcome(changes, ctx.dryRun, 'absent');
    }
    if (dirfd === null || ownPolicyText(dirfd, name) !== text) {
      if (!ctx.dryRun) {
        dirfd ??= openPolicyDir(ctx.usercratePolicyDir, true) as number;
        writeAt(dirfd, name, text, POLICY_FILE_MODE, null, null);
      }
      changes.push(`usercrate policy written (puddle: ${policy.puddle}, gitback: ${policy.gitback})`);
    }
    return outcome(changes, ctx.dryRun, `usercrate policy up to date (puddle: ${policy.puddle}, gitback: ${policy.gitback})`);
  } finally {
    if (dirfd !== null) closeSync(dirfd);
  }
}

/**
 * Policy files for users no resource names any more: a user dropped from the stacks
 * must lose the gitback gate, not keep a stale "yes". Returns the names removed.
 */
export function pruneStalePolicies(dir: string, keep: ReadonlySet<string>, dryRun: boolean): string[] {
  const dirfd = openPolicyDir(dir, false);
  if (dirfd === null) return [];
  return withFd(dirfd, (fd) => {
    const stale = readdirFd(fd)
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -'.json'.length))
      .filter((u) => isValidUserName(u) && !keep.has(u))
      .sort();
    if (!dryRun) for (const u of stale) unlinkat(fd, `${u}.json`);
    return stale;
  });
}

/**
 * Read `<dir>/<user>.json` as the gitback gate does: null when there is no file (no
 * grant); a VigoError naming the file when it is not a policy this agent wrote.
 */
export function readUsercratePolicy(dir: string, user: string): UsercratePolicy | null {
  const file = usercratePolicyPath(dir, user);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const bad = (why: string): never => {
    throw new VigoError('E_USERCRATE_POLICY', `${file}: ${why}`, { hint: 'the agent rewrites it on its next run (vigo agent run)' });
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('not a JSON object');
  const o = v as Record<string, unknown>;
  const keys = ['version', 'user', 'puddle', 'gitback', 'source'];
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`unknown field ${k}`);
  if (o['version'] !== 1) bad('version must be 1');
  if (o['user'] !== user) bad(`user must be "${user}"`);
  if (typeof o['puddle'] !== 'boolean') bad('puddle must be true or false');
  if (typeof o['gitback'] !== 'boolean') bad('gitback must be true or false');
  if (typeof o['source'] !== 'string') bad('source must be a string');
  return o as unknown as UsercratePolicy;
}
