/**
 * Shared flags of the secrets verbs (they work on the server host's files directly). Where
 * the vault is and how long an unlock lasts come from server.yaml (`secrets.dir`,
 * `secrets.unlock_window_h`), read like vigosrv reads it: --config, $VIGO_CONFIG_FILE, or
 * ./server.yaml; a missing file means the defaults.
 */
import type { Command } from 'commander';
import { defaultConfigFile, loadServerConfig, secretsPaths, type SecretsPaths } from '../../../server/index-admin.js';

export interface SecretsOpts {
  config?: string;
  secretsDir?: string;
  keyFile?: string;
}

export function secretsFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'server.yaml to take secrets.dir and secrets.unlock_window_h from (default: $VIGO_CONFIG_FILE or ./server.yaml)')
    .option('--secrets-dir <dir>', 'directory holding the master key and secrets (default: secrets.dir, or /srv/vigo/secrets)')
    .option('--key-file <file>', 'master key file (default: <secrets-dir>/.master.key)');
}

/** The vault's files and the unlock window (ms) these flags and server.yaml name. */
export function secretsFrom(o: SecretsOpts): SecretsPaths & { windowMs: number } {
  const c = loadServerConfig(o.config ?? defaultConfigFile(process.env), process.env);
  return { ...secretsPaths(o.secretsDir ?? c.secretsDir, c.dataDir, o.keyFile), windowMs: c.secrets.unlock_window_h * 3600 * 1000 };
}
