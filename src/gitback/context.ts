/**
 * What every verb needs from the outside world, passed in so tests can fix it: the
 * environment (HOME, VIGO_ROOT), who the caller is, the clock, the puddle (public key and
 * session signer), the terminal, and the daemon socket.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Signer } from '../trust/index.js';
import { paths } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import { checkGitbackGates, checkUsercrateGate } from './gate.js';

export { iso, whenHuman } from './when.js';

export interface GitbackContext {
  env: NodeJS.ProcessEnv;
  uid: number;
  user: string;
  cwd: string;
  /** the system's users (gc-orphans); /etc/passwd unless a test says otherwise */
  passwdFile?: string;
  now(): number;
  /** the puddle's public key (initialized puddle needed, not unlocked) */
  publicKey(): Uint8Array;
  /** the puddle session signer (unlocked puddle needed) */
  signer(): Promise<Signer>;
  /** own verified name claim, if any */
  nameClaim(): { name: string; pubkey: string } | null;
  out(s: string): void;
  err(s: string): void;
  /** one line from the terminal, or from stdin when it is not a terminal */
  prompt(question: string): Promise<string>;
  /** all of stdin (for `--invitation -`) */
  readStdin(): Promise<string>;
}

export function userBase(ctx: GitbackContext): string {
  return paths.gitbackUserDir(ctx.env);
}

export function socketPath(ctx: GitbackContext): string {
  return paths.gitbackSocket(ctx.env);
}

export function socketPresent(ctx: GitbackContext): boolean {
  return existsSync(socketPath(ctx));
}

export function bareRepo(ctx: GitbackContext, pid: string): string {
  return join(paths.gitbackProjects(ctx.env), `${pid}.git`);
}

/** The gates every verb that needs the swarm passes first: the envoy's, then the user's usercrate. */
export function gate(ctx: GitbackContext): void {
  checkGitbackGates(ctx.uid, ctx.user, ctx.env);
}

/**
 * The usercrate gate alone, for the local-only verbs (`status`, `purge`, `gc-orphans`,
 * `project list`, `project status`): they read or clean up this envoy's own state, which
 * an operator must be able to do on an envoy the swarm gates have just switched off.
 */
export function localGate(ctx: GitbackContext): void {
  checkUsercrateGate(ctx.uid, ctx.user, ctx.env);
}

export function requireRoot(ctx: GitbackContext, what: string): void {
  if (ctx.uid !== 0) {
    throw new VigoError('E_NEEDS_ROOT', `${what} requires root (the bare repos under ${paths.gitbackProjects(ctx.env)} are 0700 root:root)`, {
      hint: 'rerun it with sudo',
    });
  }
}

export async function confirmTyped(ctx: GitbackContext, handle: string, consequences: string[]): Promise<void> {
  for (const l of consequences) ctx.err(l + '\n');
  const answer = (await ctx.prompt(`Type the project handle (${handle}) to confirm: `)).trim();
  if (answer !== handle) {
    throw new VigoError('E_NOT_CONFIRMED', answer === '' ? 'not confirmed: no handle was typed' : `not confirmed: '${answer}' is not '${handle}'`, {
      hint: `type ${handle} exactly (from a script: echo ${handle} | vigo swarm gitback project …)`,
    });
  }
}
