/** `vigocli spanner ops-puddle join --from <https-url> --code <code>`: claim a pair offer */
import type { Command } from 'commander';
import { VigoError, isVigoError } from '../../../../platform/errors.js';
import { api } from '../../../../wire/rest-client.js';
import { PAIR_CLAIM_PATH, PAIR_CODE_RE, ensureOpsHelper, opsJoinPrepare, opsJoinWrite, parsePairClaimAnswer } from '../../../../spanner/index-ops.js';
import { printJson } from '../../output.js';
import { resolveTarget, selectServer } from '../../session.js';
import { key, opsContext, readCode, requireUnlocked } from './common.js';
import { startHelper } from './helper.js';

export function registerOpsJoin(ops: Command): void {
  ops
    .command('join')
    .description('Join the ops-puddle of another vigosrv with a pair code minted there')
    .requiredOption('--from <https-url>', 'the inviting vigosrv (you need admin credentials for it: `vigocli auth login --server <url>`)')
    .requiredOption('--code <code>', 'the pair code from `ops-puddle pair` on --from (or @FILE, or - for stdin, to keep it out of argv)')
    .option('--json', 'machine-readable output')
    .action(async (o: { from: string; code: string; json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      const code = readCode(o.code);
      if (!PAIR_CODE_RE.test(code)) throw new VigoError('E_USAGE', '--code must be the 16-character code `ops-puddle pair` printed');
      requireUnlocked(c);
      const svc = opsJoinPrepare(c.opsDir, c.puddleDir);
      const wraps = c.wraps(); // before the claim: a missing master key must not burn the code
      selectServer(o.from);
      let target;
      try {
        target = resolveTarget();
      } catch (e) {
        if (isVigoError(e) && e.code === 'E_NO_LOGIN') {
          throw new VigoError('E_NO_LOGIN', `no admin credentials for ${new URL(o.from).origin}`, { hint: `run \`vigocli auth login --server ${new URL(o.from).origin}\` first` });
        }
        throw e;
      }
      const answer = parsePairClaimAnswer(await api<unknown>(target, 'POST', PAIR_CLAIM_PATH, { v: 1, code, pubkey: svc.pubkey }));
      const r = opsJoinWrite(c.opsDir, c.puddleDir, wraps, svc, answer);
      const helper = await startHelper(c, ensureOpsHelper);
      if (o.json) return printJson({ ...r, helper });
      process.stdout.write(`Ops-puddle joined\nFriendly name: ${r.name}\nPubkey: ${key(r.pubkey)}\nDir: ${r.dir}\nMembers (${r.members.length}):\n`);
      for (const m of r.members) process.stdout.write(`- ${key(m)}${m === r.self ? ' (this vigosrv)' : ''}\n`);
    });
}
