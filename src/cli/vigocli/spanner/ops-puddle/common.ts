/**
 * What the ops-puddle and stacks verbs share: they work on this vigosrv host's files as
 * root (like `vigocli secrets`), from the spanner group's persistent flags: --secrets-dir /
 * --key-file (the master key), --puddle-dir (the service-account puddle), --ops-puddle-dir.
 * Defaults follow server.yaml's data dir (default /srv/vigo, under VIGO_ROOT).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { VigoError } from '../../../../platform/errors.js';
import { paths } from '../../../../platform/paths.js';
import { defaultConfigFile, loadServerConfig, masterKeyWrap, secretsPaths, unlockedUntil, type SecretsPaths } from '../../../../server/index-admin.js';
import { OPS_PUDDLE_WRAP_DOMAIN, SERVICE_PUDDLE_WRAP_DOMAIN, type OpsHelperPaths, type OpsWraps } from '../../../../spanner/index-ops.js';

export interface OpsCtx extends OpsHelperPaths {
  secrets: SecretsPaths;
  stacksDir: string;
  wraps: () => OpsWraps;
}

interface Flags {
  secretsDir?: string;
  keyFile?: string;
  puddleDir?: string;
  opsPuddleDir?: string;
}

export function opsContext(cmd: Command): OpsCtx {
  const o = cmd.optsWithGlobals<Flags>();
  const c = loadServerConfig(defaultConfigFile(process.env), process.env);
  const secrets = secretsPaths(o.secretsDir ?? c.secretsDir, c.dataDir, o.keyFile);
  return {
    secrets,
    socket: join(paths.varRun(process.env), 'puddle.sock'),
    puddleDir: o.puddleDir ?? join(c.dataDir, 'puddle'),
    opsDir: o.opsPuddleDir ?? join(c.dataDir, 'ops-puddle'),
    secretsDir: secrets.dir,
    dataDir: c.dataDir,
    keyFile: o.keyFile,
    stacksDir: c.stacksDir,
    wraps: () => ({ service: masterKeyWrap(secrets, SERVICE_PUDDLE_WRAP_DOMAIN), ops: masterKeyWrap(secrets, OPS_PUDDLE_WRAP_DOMAIN) }),
  };
}

export function requireUnlocked(c: OpsCtx): void {
  if (unlockedUntil(c.secrets, Date.now()) === null) {
    throw new VigoError('E_SECRETS_LOCKED', 'the secrets vault is locked', { hint: 'run `vigocli secrets unlock` first' });
  }
}

/** `--code CODE`, `--code @FILE` or `--code -` (stdin): the latter two keep it out of argv. */
export function readCode(v: string): string {
  if (v === '-') return readFileSync(0, 'utf8').trim();
  if (v.startsWith('@')) return readFileSync(v.slice(1), 'utf8').trim();
  return v;
}

export const key = (hex: string): string => `ed25519:${hex}`;
