/**
 * `vigo swarm puddle pair [--json]`: open a single-use offer of this (unlocked) puddle for
 * another envoy and print the command to run there. The code is printed here only; the
 * join command reads it from a prompt, stdin or `--code @FILE`, never from its argv.
 */
import type { Command } from 'commander';
import { VigoError } from '../../../../platform/errors.js';
import { isUnlocked, openPairOffer, puddleDir } from '../../../../puddle/index.js';
import { formatPublicKey } from '../../../../trust/index.js';
import { readSwarmAssignment } from '../../../../wire/swarm-assignment.js';
import { PAIR_TTL_S } from '../../../../wire/puddle-pair.js';
import { userInfo } from 'node:os';
import { defaultAgentConfigPath, loadAgentConfig } from '../../../../agent/index.js';
import { DEFAULT_SWARM_PORT, parseSwarmSection } from '../../../../swarm/index.js';

/** Test knob (docs/puddle.md "Pairing another envoy"): the offer's lifetime in seconds, 1–300. */
export function pairTtlS(env: NodeJS.ProcessEnv): number {
  const t = env.VIGO_TEST_PAIR_TTL_S;
  if (t === undefined || t === '') return PAIR_TTL_S;
  const n = Number(t);
  if (!Number.isInteger(n) || n < 1 || n > PAIR_TTL_S) throw new VigoError('E_USAGE', `VIGO_TEST_PAIR_TTL_S must be 1–${PAIR_TTL_S} seconds (got ${JSON.stringify(t)})`);
  return n;
}

export function joinCommand(host: string, user: string, verb: 'join' | 'rekey'): string {
  return `sudo vigo swarm puddle ${verb} --from ${host} --user ${user}`;
}

export function registerPair(puddle: Command): void {
  puddle
    .command('pair')
    .description('Offer this puddle to another envoy: a single-use code valid 5 minutes, and the join command to run there')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const dir = puddleDir(process.env);
      if (!isUnlocked(dir)) throw new VigoError('E_PUDDLE_LOCKED', 'pair needs the puddle unlocked on this envoy', { hint: 'run `vigo swarm puddle unlock` first' });
      const r = openPairOffer(dir, { purpose: 'join', nowS: Math.floor(Date.now() / 1000), ttlS: pairTtlS(process.env) });
      printOffer(r, 'join', opts.json === true);
    });
}

/**
 * The address other envoys dial for this one, as its announces name it: agent.yaml
 * `swarm.announce_host` (and the `swarm.listen` port when it is not 1531), else the enrolled
 * hostname from the swarm assignment.
 */
export function dialHost(env: NodeJS.ProcessEnv): string {
  const fallback = readSwarmAssignment(env)?.hostname ?? '<this envoy>';
  try {
    const sw = parseSwarmSection(loadAgentConfig(defaultAgentConfigPath(env)));
    const port = Number(sw.listen.slice(sw.listen.lastIndexOf(':') + 1));
    const host = sw.announce_host ?? fallback;
    return port === DEFAULT_SWARM_PORT ? host : `${host}:${port}`;
  } catch {
    return fallback; // agent.yaml unreadable for this user or invalid: the hostname is the best guess
  }
}

export function printOffer(r: ReturnType<typeof openPairOffer>, verb: 'join' | 'rekey', json: boolean): void {
  const host = dialHost(process.env);
  const user = userInfo().username;
  const cmd = joinCommand(host, user, verb);
  const expires = new Date(r.offer.expires_at * 1000);
  if (json) {
    process.stdout.write(JSON.stringify({ code: r.code, offer_id: r.offer.offer_id, pubkey: r.offer.pubkey, expires_at: r.offer.expires_at, from: host, user, command: cmd, file: r.file }) + '\n');
    return;
  }
  process.stdout.write(
    [
      `Pair offer minted (expires ${expires.toISOString().slice(11, 19)} UTC, single-use)`,
      `  Pubkey: ${formatPublicKey(Buffer.from(r.offer.pubkey, 'hex'))}`,
      `  Code:   ${r.code}`,
      `On the ${verb === 'join' ? 'new' : 'other'} envoy, run as root:`,
      `  ${cmd}`,
      `and type the code at its prompt (or pipe it on stdin, or pass --code @FILE).`,
      `Running \`pair\` again replaces this offer; 5 wrong codes lock it.`,
    ].join('\n') + '\n',
  );
}
