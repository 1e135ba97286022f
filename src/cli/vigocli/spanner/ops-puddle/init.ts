/** `vigocli spanner ops-puddle init <friendly-name>`: found the ops-puddle on this vigosrv */
import type { Command } from 'commander';
import { ensureOpsHelper, opsInit } from '../../../../spanner/index-ops.js';
import { printJson } from '../../output.js';
import { key, opsContext, requireUnlocked } from './common.js';
import { startHelper } from './helper.js';

export function registerOpsInit(ops: Command): void {
  ops
    .command('init <friendly-name>')
    .description('Found the ops-puddle on this vigosrv (needs an unlocked secrets vault)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      requireUnlocked(c);
      const r = opsInit(c.opsDir, c.puddleDir, c.wraps(), name);
      const helper = await startHelper(c, ensureOpsHelper);
      if (o.json) return printJson({ ...r, helper });
      process.stdout.write(`Ops-puddle founded\nFriendly name: ${r.name}\nPubkey: ${key(r.pubkey)}\nDir: ${r.dir}\nMembers: 1 (this vigosrv: ${key(r.self)})\n`);
    });
}
