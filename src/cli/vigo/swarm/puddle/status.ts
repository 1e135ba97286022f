/** `vigo swarm puddle status [--json]`: what an operator checks before signing anything. */
import type { Command } from 'commander';
import { puddleDir, puddleStatus } from '../../../../puddle/index.js';
import { formatDuration } from './common.js';
import { supersededKey } from '../../../../gitback/index.js';
import { paths } from '../../../../platform/paths.js';

export function registerStatus(puddle: Command): void {
  puddle
    .command('status')
    .description('Show whether the puddle is initialized and unlocked, its pubkey, name, and idle time left')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const s = await puddleStatus(puddleDir(process.env));
      // a rekey made on another envoy that this one has not adopted (docs/puddle.md "Rekey across envoys")
      const sup = s.pubkey === null ? null : supersededKey(paths.gitbackUserDir(process.env), s.pubkey.replace(/^ed25519:/, ''));
      if (opts.json) {
        const rekey = { rekey_not_adopted: sup === null ? null : { newer: sup.newer, project_id: sup.projectId, handle: sup.handle } };
        process.stdout.write(JSON.stringify({ ...s, ...rekey }, null, 2) + '\n');
        return;
      }
      const lines = [`Puddle:      ${s.dir}`, `Initialized: ${s.initialized ? 'yes' : 'no'}`];
      if (!s.initialized) {
        lines.push('hint: run `vigo swarm puddle init`');
      } else {
        const name = s.name_error !== undefined ? `(invalid claim: ${s.name_error})` : (s.name ?? '(none; `vigo swarm puddle name set <name>`)');
        lines.push(`Pubkey:      ${s.pubkey}`, `Name:        ${name}`);
        if (s.session) {
          const w = s.session.watch_pid === null ? '' : `, or when pid ${s.session.watch_pid} exits`;
          lines.push(`Unlocked:    yes (session pid ${s.session.pid}; locks after ${formatDuration(s.session.idle_left_s)} more idle${w})`);
        } else {
          lines.push('Unlocked:    no (`vigo swarm puddle unlock`)');
        }
        if (s.kdf) {
          const k = s.kdf;
          const below = k.below_defaults ? ' — below the current defaults; `rotate-passphrase` re-wraps with them' : '';
          lines.push(`Wrapping:    ${k.alg} m=${k.m_kib} KiB t=${k.t} p=${k.p} + xchacha20-poly1305${below}`);
        }
        if (s.rekey_pending) lines.push('Rekey:       interrupted — run `vigo swarm puddle rekey-pair` to finish it');
        if (sup !== null) lines.push(`Rekey:       not adopted here — project ${sup.handle} delegates this key to ed25519:${sup.newer}; run \`sudo vigo swarm puddle rekey --from <an envoy that has it>\` with a code from its \`pair\``);
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
