// Test harness pieces shared by gitback tests: a real agent process (`vigo agent run`)
// with its own VIGO_ROOT, and in-process verb contexts backed by a seed signer.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { generateKeyPair, seedSigner, toHex, type Signer } from '../../src/trust/index.js';
import type { GitbackContext } from '../../src/gitback/context.js';
import { checkoutRoot, vigoBin } from '../helpers/program.js';
import { assignSwarm } from '../helpers/swarm-assignment.js';

/** the checkout, for its own files (docs, test data); run the program through test/helpers/program.ts */
export const repoRoot = checkoutRoot;
export { vigoBin };

export interface Agent {
  proc: ChildProcess;
  log: () => string;
  stop: () => Promise<void>;
}

export async function startAgent(vigoRoot: string, gitbackSection: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Promise<Agent> {
  const cfg = join(vigoRoot, 'etc', 'vigo-envoy', 'agent.yaml');
  mkdirSync(dirname(cfg), { recursive: true });
  // the swarm gates open, as a check-in to a server.yaml with swarm.*.enabled: ["*"] leaves them
  assignSwarm(vigoRoot);
  writeFileSync(cfg, `gitback:\n${Object.entries(gitbackSection).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n`);
  // the log goes to a file, not a pipe: a test blocked in spawnSync must never stall the agent
  const logFile = join(vigoRoot, 'agent.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [vigoBin, 'agent', 'run', '--config', cfg], { env: { ...env, VIGO_ROOT: vigoRoot }, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const log = () => readFileSync(logFile, 'utf8');
  const sock = join(vigoRoot, 'var', 'run', 'vigo', 'gitback.sock');
  for (let i = 0; i < 200 && !(existsSync(sock) && log().includes('running')); i++) {
    if (proc.exitCode !== null) throw new Error(`agent exited: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!existsSync(sock)) throw new Error(`agent did not start: ${log()}`);
  return {
    proc,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export interface TestCtx extends GitbackContext {
  stdout: string[];
  stderr: string[];
  input: string[];
  setSigner(s: Signer): void;
  text(): string;
}

/** An in-process context for one "user": its HOME, a seed signer whose pubkey is published in identity.pub. */
export function testContext(home: string, vigoRoot: string, opts: { uid?: number; user?: string; now?: () => number } = {}): TestCtx {
  const kp = generateKeyPair();
  let signer = seedSigner(kp.seed);
  assignSwarm(vigoRoot);
  const writePub = () => {
    mkdirSync(join(home, '.vigo-puddle'), { recursive: true, mode: 0o700 });
    writeFileSync(join(home, '.vigo-puddle', 'identity.pub'), toHex(signer.publicKey) + '\n');
  };
  writePub();
  const stdout: string[] = [];
  const stderr: string[] = [];
  const input: string[] = [];
  const env = { ...process.env, HOME: home, VIGO_ROOT: vigoRoot };
  return {
    env,
    uid: opts.uid ?? process.getuid?.() ?? 0,
    user: opts.user ?? 'root',
    cwd: home,
    now: opts.now ?? (() => Math.floor(Date.now() / 1000)),
    publicKey: () => signer.publicKey,
    signer: () => Promise.resolve(signer),
    nameClaim: () => null,
    out: (s) => void stdout.push(s),
    err: (s) => void stderr.push(s),
    prompt: () => Promise.resolve(input.shift() ?? ''),
    readStdin: () => Promise.resolve(input.shift() ?? ''),
    stdout,
    stderr,
    input,
    setSigner(s: Signer) {
      signer = s;
      writePub();
    },
    text: () => stdout.join('') + stderr.join(''),
  };
}
