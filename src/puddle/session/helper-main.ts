/**
 * Entry point of the session helper process (spawned detached by `unlock`). The key
 * arrives as 32 raw bytes on stdin — never argv, env or a file. Options (not secret) come
 * in argv. It prints READY on stdout once serving, then logs to stderr (session.log).
 */
import { setNotDumpable } from '../../platform/peercred.js';
import { runHelper } from './helper.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} puddle-session[${process.pid}]: ${msg}\n`);
}

async function readSeed(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  const seed = new Uint8Array(all.length);
  seed.set(all);
  all.fill(0);
  return seed;
}

async function main(): Promise<void> {
  process.title = 'vigo-puddle-session';
  const dir = arg('--dir');
  const idle = Number(arg('--idle-timeout-s'));
  const watchPid = Number(arg('--watch-pid') ?? '0');
  const watchStart = arg('--watch-start') ?? '';
  if (!dir || !Number.isSafeInteger(idle) || idle <= 0 || !Number.isSafeInteger(watchPid)) {
    log('bad arguments; exiting');
    process.exit(2);
  }
  // before the key arrives: no core dumps, no ptrace or /proc/<pid>/mem by same-uid processes
  let hardened = false;
  try {
    hardened = setNotDumpable();
  } catch (e) {
    log(`prctl(PR_SET_DUMPABLE) failed: ${(e as Error).message}`);
  }
  if (!hardened) log('warning: this process stays dumpable (the native addon predates setNotDumpable; rebuild it with node-gyp)');
  const seed = await readSeed();
  if (seed.length !== 32) {
    seed.fill(0);
    log(`expected a 32-byte key on stdin, got ${seed.length} bytes; exiting`);
    process.exit(2);
  }
  runHelper(seed, {
    dir,
    idleTimeoutS: idle,
    watchPid: watchPid > 0 ? watchPid : null,
    watchStart: watchStart === '' ? null : watchStart,
    log,
    onReady: () => {
      process.stdout.write('READY\n');
    },
    onLocked: () => {
      setTimeout(() => process.exit(0), 50);
    },
  });
}

main().catch((e: unknown) => {
  log(`fatal: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
