/**
 * Entry point of the service-account helper (started by `ops-puddle init/join`, and by
 * whoever starts vigosrv's host services as root when identity.wrapped exists: see
 * docs/spanner.md "Ops-puddle"). argv carries paths only; the process reads the master key
 * itself (root-only file), derives the two wrap keys and drops the master key. It prints
 * READY on stdout once serving, then logs to stderr (<puddle-dir>/helper.log).
 */
import { setNotDumpable } from '../platform/peercred.js';
import { masterKeyWrap, secretsPaths } from '../server/index-admin.js';
import { OPS_PUDDLE_WRAP_DOMAIN, SERVICE_PUDDLE_WRAP_DOMAIN } from './ops-puddle.js';
import { runOpsHelper } from './ops-helper.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} vigo-puddle-helper[${process.pid}]: ${msg}\n`);
}

function main(): void {
  process.title = 'vigo-puddle-helper';
  const socket = arg('--socket');
  const puddleDir = arg('--puddle-dir');
  const opsDir = arg('--ops-puddle-dir');
  const secretsDir = arg('--secrets-dir');
  const dataDir = arg('--data-dir');
  const keyFile = arg('--key-file');
  const allow = Number(arg('--allow-uid') ?? '0');
  if (!socket || !puddleDir || !opsDir || !secretsDir || !dataDir || !Number.isSafeInteger(allow)) {
    log('bad arguments; exiting');
    process.exit(2);
  }
  try {
    if (!setNotDumpable()) log('warning: this process stays dumpable (rebuild the native addon)');
  } catch (e) {
    log(`prctl(PR_SET_DUMPABLE) failed: ${(e as Error).message}`);
  }
  const p = secretsPaths(secretsDir, dataDir, keyFile === '' ? undefined : keyFile);
  const wraps = { service: masterKeyWrap(p, SERVICE_PUDDLE_WRAP_DOMAIN), ops: masterKeyWrap(p, OPS_PUDDLE_WRAP_DOMAIN) };
  runOpsHelper({ socket, puddleDir, opsDir, wraps, log, now: () => Math.floor(Date.now() / 1000), allowUid: allow, onReady: () => process.stdout.write('READY\n') });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => { log(`signal ${sig}; exiting`); process.exit(0); });
}

try {
  main();
} catch (e) {
  log(`fatal: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
