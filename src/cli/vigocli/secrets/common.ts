/** Shared flags of the secrets verbs (they work on the server host's files directly). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { paths } from '../../../platform/paths.js';
import { secretsPaths, type SecretsPaths } from '../../../server/secrets.js';

export const WINDOW_MS = 24 * 3600 * 1000;

export function secretsFlags(cmd: Command): Command {
  return cmd
    .option('--secrets-dir <dir>', 'directory holding the master key and secrets', join(paths.srv(), 'secrets'))
    .option('--key-file <file>', 'master key file (default: <secrets-dir>/.master.key)');
}

export function secretsFrom(o: { secretsDir: string; keyFile?: string }): SecretsPaths {
  return secretsPaths(o.secretsDir, paths.srv(), o.keyFile);
}
