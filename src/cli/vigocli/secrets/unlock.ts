/** `vigocli secrets unlock` */
import type { Command } from 'commander';
import { unlock } from '../../../server/secrets.js';
import { secretsFlags, secretsFrom, WINDOW_MS } from './common.js';

export function registerUnlock(secrets: Command): void {
  secretsFlags(secrets.command('unlock').description('Open a 24 h sliding window for reveal/set (each use extends it)')).action((o: { secretsDir: string; keyFile?: string }) => {
    const p = secretsFrom(o);
    const until = unlock(p, Date.now(), WINDOW_MS);
    process.stdout.write(`Secrets unlocked until ${new Date(until).toISOString()} (sliding: each use extends it)\n`);
  });
}
