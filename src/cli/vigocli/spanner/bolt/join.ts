/** `vigocli spanner bolt join --from URL --code BUNDLE`: join this server to a spanner */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { call } from '../../session.js';
import { printJson } from '../../output.js';
import type { BoltView } from '../types.js';

export function registerJoin(bolt: Command): void {
  bolt
    .command('join')
    .description('Join an existing spanner using an invite bundle minted on a member')
    .requiredOption('--from <url>', "the inviting server's URL (https://HOST:8443)")
    .requiredOption('--code <bundle>', 'the bundle from `bolt invite` on --from (or @FILE to read it from a file)')
    .option('--json', 'machine-readable output')
    .action(async (o: { from: string; code: string; json?: boolean }) => {
      const code = o.code.startsWith('@') ? readFileSync(o.code.slice(1), 'utf8').trim() : o.code;
      const r = await call<{ admitted: BoltView; bolts: number }>('POST', '/api/v1/spanner/bolt/join', { from: o.from, code });
      if (o.json) return printJson(r);
      process.stdout.write(`Joined the spanner through ${o.from}\nBolt:     ${r.admitted.bolt_id} (ed25519:${r.admitted.pubkey})\nAdmitted: ${r.admitted.admitted_at} by ${r.admitted.admitted_by}\nRoster:   ${r.bolts} bolt(s)\n`);
    });
}
