/** `vigocli spanner ops-puddle status`: the public files only (works on a locked vault, never unwraps) */
import type { Command } from 'commander';
import { VigoError } from '../../../../platform/errors.js';
import { opsHelperStatus, opsStatus, readServicePubkey } from '../../../../spanner/index-ops.js';
import { printJson } from '../../output.js';
import { key, opsContext } from './common.js';

export function registerOpsStatus(ops: Command): void {
  ops
    .command('status')
    .description("Show the ops-puddle's friendly name, pubkey, and member set")
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      const s = opsStatus(c.opsDir);
      if (s === null) throw new VigoError('E_OPS_NONE', `no ops-puddle at ${c.opsDir}`, { hint: 'found one with `vigocli spanner ops-puddle init <name>`, or join one with `ops-puddle join --from <url> --code <code>`' });
      const self = readServicePubkey(c.puddleDir);
      // the helper's STATUS says only whether it runs (its pubkey, pid): nothing is unwrapped here
      const helper = await opsHelperStatus(c.socket).catch(() => null);
      if (o.json) return printJson({ ...s, self, helper_pid: helper?.pid ?? null });
      process.stdout.write(`Ops-puddle\nFriendly name: ${s.name}\nPubkey: ${key(s.pubkey)}\nDir: ${s.dir}\nMembers (${s.members.length}):\n`);
      for (const m of s.members) process.stdout.write(`- ${key(m)}${m === self ? ' (this vigosrv)' : ''}\n`);
      process.stdout.write(`Helper: ${helper === null ? `not running (${c.socket})` : `running (pid ${helper.pid})`}\n`);
    });
}
