/**
 * `sudo vigo swarm puddle join --from <host> [--user U] [--code @FILE] [--json]`: claim a
 * pair offer over the swarm transport and install the still-wrapped identity for U.
 * Root, because the claim is made with the agent's mTLS client key; the files are then
 * written as U (this process drops to U's uid before it touches U's home).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { readIdentity } from '../../../../agent/index.js';
import { readPasswd, type PasswdEntry } from '../../../../gitback/index.js';
import { VigoError } from '../../../../platform/errors.js';
import { adoptPairedIdentity, hasAnyIdentityFile, readPassphrase } from '../../../../puddle/index.js';
import { parseHostPort, swarmCall, type SwarmIdentity } from '../../../../swarm/index.js';
import { formatPublicKey } from '../../../../trust/index.js';
import { encodeClaim, MAX_ANSWER_BYTES, PAIR_CLAIM_PATH, parseAnswer, type PairAnswer, type PairClaim } from '../../../../wire/puddle-pair.js';

export const CLAIM_DEADLINE_MS = 30_000;

export interface TargetUser extends PasswdEntry {
  dir: string;
}

/** `--user`, else SUDO_USER; never root; must be a user of this host. */
export function targetUser(flag: string | undefined, env: NodeJS.ProcessEnv, passwdFile = '/etc/passwd'): TargetUser {
  const name = flag ?? env.SUDO_USER;
  if (name === undefined || name === '') throw new VigoError('E_USAGE', 'which user is the puddle for? pass --user U (or run through sudo, which sets SUDO_USER)');
  const u = readPasswd(passwdFile).find((p) => p.name === name);
  if (u === undefined) throw new VigoError('E_PAIR_NO_USER', `no user ${JSON.stringify(name)} on this host (${passwdFile})`, { hint: 'create the user first, or name an existing one with --user' });
  if (u.uid === 0) throw new VigoError('E_USAGE', 'a puddle is a person\'s identity: refusing to install one for root', { hint: 'pass --user with the person\'s own account' });
  return { ...u, dir: join(u.home, '.vigo-puddle') };
}

/** The code from `--code @FILE` (its first line), else a prompt, else the next line of stdin. */
export async function readCode(flag: string | undefined, what = 'Pair code'): Promise<string> {
  if (flag !== undefined && !flag.startsWith('@')) throw new VigoError('E_USAGE', '--code takes @FILE only: a code in argv is visible to every user of this host', { hint: 'type it at the prompt, pipe it on stdin, or put it in a 0600 file and pass --code @FILE' });
  const code = (await readPassphrase({ file: flag?.slice(1), envVar: 'VIGO_UNUSED_PAIR_CODE', env: {}, prompt: what, isNew: false })).trim();
  if (!/^[A-Za-z0-9_-]{16}$/.test(code)) throw new VigoError('E_USAGE', 'a pair code is 16 characters of A-Z a-z 0-9 - _', { hint: 'copy it again from the output of `vigo swarm puddle pair` on the other envoy' });
  return code;
}

/** One claim to `from`, with this envoy's mTLS identity; a refusal becomes its own VigoError. */
export function fromAddress(from: string): { host: string; port: number } {
  const hp = parseHostPort(from);
  if ('reason' in hp) throw new VigoError('E_USAGE', `--from ${from}: ${hp.reason}`, { hint: 'give the other envoy\'s host name or address, optionally :PORT (default 1531)' });
  return hp;
}

/** This envoy's mTLS material (root only: envoy.key is 0600 root). */
export function swarmIdentity(env: NodeJS.ProcessEnv): SwarmIdentity {
  const ident = readIdentity(env);
  return { cert: ident.cert, key: ident.key, ca: ident.ca };
}

/** Which envoy answers at `from` (its certificate says; a GET of the claim path is refused 405 and changes nothing). */
export async function answererOf(from: string, identity: SwarmIdentity): Promise<string> {
  const hp = fromAddress(from);
  const r = await swarmCall({ identity, host: hp.host, port: hp.port, expectEnvoyId: null, method: 'GET', path: PAIR_CLAIM_PATH, deadlineMs: CLAIM_DEADLINE_MS, maxResponseBytes: 4096 });
  return r.peerEnvoyId;
}

export async function claimOffer(from: string, claim: PairClaim, identity: SwarmIdentity, expectEnvoyId: string | null = null): Promise<{ answer: PairAnswer; peerEnvoyId: string }> {
  const hp = fromAddress(from);
  const r = await swarmCall({
    identity,
    host: hp.host,
    port: hp.port,
    expectEnvoyId, // null: an operator-named address, any envoy of this fleet; the reply says which
    method: 'POST',
    path: PAIR_CLAIM_PATH,
    headers: { 'content-type': 'application/json' },
    body: encodeClaim(claim),
    deadlineMs: CLAIM_DEADLINE_MS,
    maxResponseBytes: MAX_ANSWER_BYTES,
  });
  if (r.status !== 200) {
    const e = r.error ?? { code: `E_HTTP_${r.status}`, message: `answered ${r.status}` };
    throw new VigoError(e.code, `envoy ${r.peerEnvoyId} at ${from} refused the claim (${e.code}): ${e.message}`, { hint: hintFor(e.code) });
  }
  return { answer: parseAnswer(r.body), peerEnvoyId: r.peerEnvoyId };
}

function hintFor(code: string): string {
  switch (code) {
    case 'E_PAIR_WRONG_CODE':
      return 'check the code you typed against the output of `pair` on the other envoy; nothing was written here';
    case 'E_PAIR_EXPIRED':
    case 'E_PAIR_USED':
    case 'E_PAIR_LOCKED':
    case 'E_PAIR_NO_OFFER':
      return 'run `vigo swarm puddle pair` again on the other envoy (as the user) and use the new code; nothing was written here';
    case 'E_PAIR_GATE':
    case 'E_PAIR_UNKNOWN_PEER':
      return 'both envoys must be inside server.yaml swarm.puddle.enabled, and the other envoy must have heard this one (its announces) — wait one announce interval and retry';
    default:
      return 'nothing was written here';
  }
}

/** Become the target user for good (files in a user's home are written by the user). */
export function dropTo(u: TargetUser): void {
  const p = process as NodeJS.Process & { initgroups?: (user: string, gid: number) => void };
  if (p.initgroups === undefined || p.setgid === undefined || p.setuid === undefined) throw new VigoError('E_UNSUPPORTED', 'this platform cannot change the process user');
  p.initgroups(u.name, u.gid);
  p.setgid(u.gid);
  p.setuid(u.uid);
  process.env.HOME = u.home;
  process.env.USER = u.name;
}

export function registerJoin(puddle: Command): void {
  puddle
    .command('join')
    .description("Install this user's puddle from another envoy (run as root; the key arrives still wrapped)")
    .requiredOption('--from <host>', 'the envoy where `vigo swarm puddle pair` ran (host or address, optionally :PORT)')
    .option('--user <U>', 'the user to install it for (default: $SUDO_USER); also the user whose offer is claimed, unless --from-user')
    .option('--from-user <U>', 'the user who ran `pair` on the other envoy, when the name differs there')
    .option('--code <@FILE>', 'read the code from FILE (else a prompt, or stdin)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { from: string; user?: string; fromUser?: string; code?: string; json?: boolean }) => {
      if (process.getuid?.() !== 0) throw new VigoError('E_USAGE', 'join needs root: it claims the offer with this envoy\'s mTLS key', { hint: 'run it with sudo: `sudo vigo swarm puddle join --from HOST`' });
      const u = targetUser(opts.user, process.env);
      // before claiming: an existing puddle here is refused without burning the code
      const existing = hasAnyIdentityFile(u.dir);
      if (existing !== null) throw new VigoError('E_PAIR_TARGET_EXISTS', `${u.name} already has a puddle identity on this envoy (${existing}); nothing claimed (E_PAIR_TARGET_EXISTS)`, { hint: 'keep it, or remove it with `vigo swarm puddle leave` first; join never overwrites an identity' });
      const code = await readCode(opts.code);
      const { answer, peerEnvoyId } = await claimOffer(opts.from, { v: 1, kind: 'puddle-pair-claim', user: opts.fromUser ?? u.name, code, purpose: 'join', proof: null }, swarmIdentity(process.env));
      dropTo(u);
      const r = await adoptPairedIdentity(u.dir, answer, process.env);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ joined: true, from: opts.from, from_envoy: peerEnvoyId, user: u.name, dir: u.dir, pubkey: r.pubkey, name: r.name }) + '\n');
        return;
      }
      const lines = [
        `Puddle joined from ${opts.from} (envoy ${peerEnvoyId})`,
        `  User:   ${u.name}`,
        `  Pubkey: ${formatPublicKey(Buffer.from(r.pubkey, 'hex'))}`,
        `  Name:   ${r.name ?? '(none)'}`,
        `  Dir:    ${u.dir}`,
      ];
      if (r.nameDropped !== null) lines.push(`warning: the name claim sent was dropped: ${r.nameDropped}`);
      lines.push(`Next: as ${u.name}, vigo swarm puddle unlock (the passphrase chosen at init on the first envoy)`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
