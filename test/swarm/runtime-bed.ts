/**
 * Running the replication runtime (runtime-peer.ts) in hosts of the netns bed: start one,
 * send it commands, read a bare repo's refs. Shared by test/swarm/runtime-netns.test.ts and
 * bench/fanout.bench.ts.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { NetnsBed } from '../helpers/netns.js';

export const runtimePeerJs = fileURLToPath(new URL('./runtime-peer.js', import.meta.url));

export function git(args: string[], cwd?: string, input?: string): string {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, GIT_AUTHOR_NAME: 'alice', GIT_AUTHOR_EMAIL: 'alice@example.org', GIT_COMMITTER_NAME: 'alice', GIT_COMMITTER_EMAIL: 'alice@example.org' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export function refsOf(repo: string): Record<string, string> {
  if (!existsSync(repo)) return {};
  const out: Record<string, string> = {};
  for (const l of git(['--git-dir', repo, 'for-each-ref', '--format=%(objectname) %(refname)']).split('\n')) if (l !== '') out[l.split(' ')[1]!] = l.split(' ')[0]!;
  return out;
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

/** One runtime process: JSON-line commands on stdin, answers on stdout. */
export class RuntimeProc {
  private next = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  stderr = '';
  constructor(readonly proc: ChildProcess) {
    proc.stdin?.on('error', () => {}); // a command to a runtime that just died: answered by cmd()
    proc.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20_000)));
    createInterface({ input: proc.stdout! }).on('line', (l) => {
      if (!l.startsWith('{')) return;
      const r = JSON.parse(l) as Reply;
      this.waiting.get(r.id)?.(r);
      this.waiting.delete(r.id);
    });
  }

  cmd(c: Record<string, unknown>): Promise<Reply> {
    const id = this.next++;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return Promise.resolve({ id, ok: false, error: `the runtime exited (${String(this.proc.exitCode ?? this.proc.signalCode)})` });
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.stdin!.write(`${JSON.stringify({ ...c, id })}\n`);
    });
  }

  async kill(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGKILL');
    await gone;
  }
}

/** Start the runtime in a host of the bed with a config file (runtime-peer.ts RuntimeConfig); resolves once it serves. */
export async function startRuntime(bed: NetnsBed, host: string, configPath: string): Promise<RuntimeProc> {
  const p = bed.spawn(host, [process.execPath, runtimePeerJs, 'serve', configPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  const e = new RuntimeProc(p);
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      if (!d.toString().includes('ready')) return;
      p.stdout?.off('data', onData);
      resolve();
    };
    p.stdout?.on('data', onData);
    p.once('exit', (code) => reject(new Error(`runtime on ${host} exited ${String(code)}: ${e.stderr}`)));
  });
  return e;
}

/**
 * Every file under an envoy's gitback base with its size and content hash (the receiver's
 * "disk"), but for the announce cache and the scratch directory `replica/quarantine/`,
 * where the receiver's own background fetches come and go.
 */
export function diskOf(dir: string, skipName = 'gitback-announced.json'): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (p !== join(dir, 'replica', 'quarantine')) walk(p);
      } else if (n !== skipName) out.push(`${p.slice(dir.length)} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Poll `f` every 250 ms until it holds; past `ms`, fail with `what` and what `dump` says. */
export async function until(what: string, ms: number, f: () => Promise<boolean> | boolean, dump: () => Promise<string> | string = () => ''): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await f()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${await dump()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
