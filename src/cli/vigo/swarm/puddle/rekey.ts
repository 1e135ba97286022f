/**
 * `sudo vigo swarm puddle rekey --from <host> [--user U] [--code @FILE] [--passphrase-file F]`:
 * after `rekey-pair` on another envoy, adopt its new key (still wrapped) here.
 *
 * Root reads the agent's mTLS key, then the process becomes U for good. As U it proves it
 * holds the OLD key: U's unlocked session signs `puddle-rekey-proof` over the code's hash,
 * the old pubkey and both envoy ids (the answerer's learned from its certificate first), so
 * a stolen code alone cannot swap this envoy's identity. The answer is staged exactly as
 * `rekey-pair` commits its own (old key to retired/, rekey.pending.json), and `rekeyPair`
 * resumes it here: the session moves to the new key and the rekey hooks run.
 */
import type { Command } from 'commander';
import { homeDir } from '../../../../platform/paths.js';
import { VigoError } from '../../../../platform/errors.js';
import { isInitialized, readPublicKey, rekeyPair, sessionSigner, stageAdoptedRekey, type HookRegistry, type RekeyHook } from '../../../../puddle/index.js';
import { formatPublicKey, toHex } from '../../../../trust/index.js';
import { pairCodeHash, rekeyProofMessage } from '../../../../wire/puddle-pair.js';
import { envoyIdOf } from '../../../../swarm/index.js';
import { X509Certificate } from 'node:crypto';
import { PASSPHRASE_FILE_HELP, currentPassphrase } from './common.js';
import { answererOf, claimOffer, dropTo, readCode, swarmIdentity, targetUser } from './join.js';

export function registerRekey(puddle: Command, hooks: HookRegistry<RekeyHook>): void {
  puddle
    .command('rekey')
    .description('Adopt the new key another envoy made with `rekey-pair` (run as root; proves the old key; runs the rekey hooks here)')
    .requiredOption('--from <host>', 'the envoy where `rekey-pair` (or a later `pair`) ran (host or address, optionally :PORT)')
    .option('--user <U>', 'whose puddle (default: $SUDO_USER); also the user whose offer is claimed, unless --from-user')
    .option('--from-user <U>', 'the user on the other envoy, when the name differs there')
    .option('--code <@FILE>', 'read the code from FILE (else a prompt, or stdin)')
    .option('--passphrase-file <F>', PASSPHRASE_FILE_HELP)
    .option('--json', 'machine-readable output')
    .action(async (opts: { from: string; user?: string; fromUser?: string; code?: string; passphraseFile?: string; json?: boolean }) => {
      if (process.getuid?.() !== 0) throw new VigoError('E_USAGE', "rekey --from needs root: it claims with this envoy's mTLS key", { hint: 'run it with sudo: `sudo vigo swarm puddle rekey --from HOST`' });
      const u = targetUser(opts.user, process.env);
      const identity = swarmIdentity(process.env);
      const self = envoyIdOf(new X509Certificate(identity.cert).raw);
      dropTo(u);
      if (!isInitialized(u.dir)) throw new VigoError('E_PUDDLE_NOT_INITIALIZED', `${u.name} has no puddle on this envoy (${u.dir})`, { hint: 'a first copy comes with `vigo swarm puddle join --from HOST`' });
      const old = toHex(readPublicKey(u.dir));
      const signer = await sessionSigner(u.dir); // the old key, unlocked: E_PUDDLE_LOCKED otherwise
      const code = await readCode(opts.code);
      const answerer = await answererOf(opts.from, identity);
      const sig = await signer.sign(rekeyProofMessage({ codeSha256: pairCodeHash(code), oldPubkey: old, claimerEnvoy: self, answererEnvoy: answerer }));
      const { answer } = await claimOffer(
        opts.from,
        { v: 1, kind: 'puddle-pair-claim', user: opts.fromUser ?? u.name, code, purpose: 'rekey', proof: { old_pubkey: old, sig: toHex(sig) } },
        identity,
        answerer,
      );
      const staged = await stageAdoptedRekey(u.dir, answer, old, process.env, Math.floor(Date.now() / 1000));
      const progress = (l: string) => process.stderr.write(`${l}\n`);
      const r = await rekeyPair(u.dir, { passphrase: currentPassphrase(opts.passphraseFile), forceOrphanProjects: false, home: homeDir(process.env), progress, hooks, env: process.env });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ adopted: true, from: opts.from, from_envoy: answerer, user: u.name, old: staged.old, new: staged.new, session_refreshed: r.sessionRefreshed, lines: r.lines }) + '\n');
        return;
      }
      process.stdout.write(
        [
          `Rekey adopted from ${opts.from} (envoy ${answerer})`,
          `  Retired: ${formatPublicKey(Buffer.from(staged.old, 'hex'))} (kept wrapped under retired/)`,
          `  New:     ${formatPublicKey(Buffer.from(staged.new, 'hex'))}`,
          `  Session: ${r.sessionRefreshed ? 'refreshed with the new key' : 'locked (run `vigo swarm puddle unlock`)'}`,
          ...r.lines,
        ].join('\n') + '\n',
      );
    });
}
