import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerStatus } from './status.js';
import { registerInit } from './init.js';
import { registerBolt } from './bolt/index.js';
import { registerOpsPuddle } from './ops-puddle/index.js';
import { registerStacks } from './stacks/index.js';

/**
 * `vigocli spanner …`: the federation of bolts (docs/spanner.md). Every verb here asks the
 * server (REST); the server keeps its bolt key under its own secrets dir. The page's
 * persistent flags name the master key and the secrets dir for the verbs that work on this
 * host's files (the ops-puddle and stacks verbs); the REST verbs accept and ignore them.
 * Their defaults follow server.yaml's data dir (/srv/vigo, under VIGO_ROOT).
 */
export function registerSpanner(program: Command): void {
  const spanner = group(program, 'spanner', 'The spanner (federation) and its bolts (one vigosrv each)')
    .option('--key-file <path>', 'path to the master encryption key (default: auto-detected inside --secrets-dir)')
    .option('--secrets-dir <dir>', "directory holding the secrets backend's master key (default /srv/vigo/secrets)")
    .option('--puddle-dir <dir>', "directory holding this vigosrv's service-account puddle (default /srv/vigo/puddle)")
    .option('--ops-puddle-dir <dir>', 'directory holding the per-host ops-puddle wrap (default /srv/vigo/ops-puddle)');
  registerStatus(spanner);
  registerInit(spanner);
  registerBolt(spanner);
  registerOpsPuddle(spanner);
  registerStacks(spanner);
}
