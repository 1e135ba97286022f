// Clone and push of a 10,000-commit repository through gitback:// (git-remote-gitback →
// the helper daemon's socket → upload-pack/receive-pack, with chain verification per
// connection) against the same through a plain local path (file://, so git runs the same
// pack protocol without the helper). One run, medians of several rounds (each a pair run
// back to back, in alternating order), ratios printed.
// Goal: gitback ≤ 1.2× plain.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateKeyPair, seedSigner, toHex } from '../src/trust/index.js';
import { projectInit } from '../src/gitback/project/found.js';
import type { GitbackContext } from '../src/gitback/context.js';
import { startAgent, repoRoot } from '../test/gitback/harness.js';

const COMMITS = Number(process.env.BENCH_COMMITS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function fastImportStream(n: number): string {
  const parts: string[] = [];
  const t = 1_700_000_000;
  for (let i = 1; i <= n; i++) {
    const content = `line ${i}\n`.repeat(1 + (i % 7));
    const msg = `commit ${i}\n`;
    parts.push(
      `commit refs/heads/main\nmark :${i}\ncommitter Bench <bench@example> ${t + i} +0000\n` +
        `data ${Buffer.byteLength(msg)}\n${msg}` +
        (i > 1 ? `from :${i - 1}\n` : '') +
        `M 100644 inline file${i % 50}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`,
    );
  }
  return parts.join('');
}

function git(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): void {
  const r = spawnSync('git', args, { cwd: opts.cwd, env: opts.env, input: opts.input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

function timeGit(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn('git', args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`git ${args.join(' ')}: ${err}`))));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-bench-gitback-'));
  const vroot = join(dir, 'root');
  const home = join(dir, 'home');
  mkdirSync(join(home, '.vigo-puddle'), { recursive: true });
  const uid = process.getuid?.() ?? 0;
  writeFileSync(join(dir, 'passwd'), `bench:x:${uid}:${uid}:bench:${home}:/bin/sh\n`);
  const env = { ...process.env, HOME: home, VIGO_ROOT: vroot, PATH: `${join(repoRoot, 'bin')}:${process.env.PATH}` };
  // the helper without its native tunnel (the program itself), for the fixed cost it saves
  const programOnly = join(dir, 'program-only');
  mkdirSync(programOnly);
  symlinkSync(join(repoRoot, 'bin', 'git-remote-gitback.js'), join(programOnly, 'git-remote-gitback'));
  const envProgram = { ...env, PATH: `${programOnly}:${process.env.PATH}` };
  const agent = await startAgent(vroot, { passwd_file: join(dir, 'passwd') }, env);
  try {
    process.stdout.write(`generating a ${COMMITS}-commit repository with git fast-import… `);
    const src = join(dir, 'src');
    git(['init', '-q', '-b', 'main', src]);
    const t0 = performance.now();
    git(['fast-import', '--quiet'], { cwd: src, input: fastImportStream(COMMITS) });
    git(['reset', '-q', '--hard', 'main'], { cwd: src });
    process.stdout.write(`${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    const signer = seedSigner(generateKeyPair().seed);
    writeFileSync(join(home, '.vigo-puddle', 'identity.pub'), toHex(signer.publicKey) + '\n');
    let out = '';
    const ctx: GitbackContext = {
      env, uid, user: 'bench', cwd: src, now: () => Math.floor(Date.now() / 1000),
      publicKey: () => signer.publicKey, signer: () => Promise.resolve(signer), nameClaim: () => null,
      out: (s) => void (out += s), err: () => undefined, prompt: () => Promise.resolve(''), readStdin: () => Promise.resolve(''),
    };
    type Pair = { plain: number[]; gitback: number[] };
    const pushT: Pair = { plain: [], gitback: [] };
    const cloneT: Pair = { plain: [], gitback: [] };
    const lsT: Pair = { plain: [], gitback: [] };
    const lsProgram: number[] = [];
    // The daemon's work after a push (ref snapshot, HEAD, the reactor) must not be timed
    // as part of whatever runs next: wait for its log line.
    const pushesLogged = () => (agent.log().match(/ updated \d+ ref\(s\) in /g) ?? []).length;
    const settled = async (n: number) => {
      for (let i = 0; i < 200 && pushesLogged() < n; i++) await new Promise((r) => setTimeout(r, 25));
    };
    // Each pair runs back to back, in alternating order (so drift in the machine's load
    // falls on both sides alike); a pair's ratio is its gitback time over its plain time.
    const pair = async (into: Pair, r: number, plain: () => Promise<number>, gitback: () => Promise<number>) => {
      if (r % 2 === 0) {
        into.plain.push(await plain());
        into.gitback.push(await gitback());
      } else {
        into.gitback.push(await gitback());
        into.plain.push(await plain());
      }
    };
    for (let r = 0; r < ROUNDS; r++) {
      const handle = `bench${r}`;
      await projectInit(ctx, handle, { push: false });
      const pid = /gitback:\/\/([0-9a-f]{64})\//.exec(out.split('Founded project ' + handle)[1] ?? '')?.[1] as string;
      const plainBare = join(dir, `plain${r}.git`);
      const gurl = `gitback://${pid}/${handle}`;
      // both sides include creating the bare repo (the daemon creates it on first push)
      await pair(
        pushT,
        r,
        async () => (await timeGit(['init', '-q', '--bare', plainBare], env)) + (await timeGit(['push', '-q', `file://${plainBare}`, 'main'], env, src)),
        async () => {
          const t = await timeGit(['push', '-q', gurl, 'main'], env, src);
          await settled(r + 1);
          return t;
        },
      );
      await pair(cloneT, r, () => timeGit(['clone', '-q', '--bare', `file://${plainBare}`, join(dir, `cp${r}`)], env), () => timeGit(['clone', '-q', '--bare', gurl, join(dir, `cg${r}`)], env));
      await pair(lsT, r, () => timeGit(['ls-remote', `file://${plainBare}`], env), () => timeGit(['ls-remote', gurl], env));
      lsProgram.push(await timeGit(['ls-remote', gurl], envProgram));
    }
    const ratios = (t: Pair) => t.gitback.map((g, i) => g / (t.plain[i] as number));
    const row = (name: string, t: Pair) => {
      const p = median(t.plain);
      const g = median(t.gitback);
      const rs = ratios(t);
      console.log(
        `${name.padEnd(6)} plain file:// ${p.toFixed(0).padStart(6)} ms   gitback:// ${g.toFixed(0).padStart(6)} ms   ratio ${(g / p).toFixed(2)}×` +
          `   (pairs: median ${median(rs).toFixed(2)}×, ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}×)`,
      );
      return g / p;
    };
    console.log(`\n${COMMITS} commits, median of ${ROUNDS} round(s):`);
    const rp = row('push', pushT);
    const rc = row('clone', cloneT);
    const fixed = median(lsT.gitback) - median(lsT.plain);
    console.log(`fixed cost per operation (ls-remote round trip: helper process start + socket + chain check): ${fixed.toFixed(0)} ms` + `   (ls-remote: plain ${median(lsT.plain).toFixed(0)} ms, gitback ${median(lsT.gitback).toFixed(0)} ms)`);
    console.log(`the same without the native tunnel (the helper as a Node.js process): ${(median(lsProgram) - median(lsT.plain)).toFixed(0)} ms`);
    console.log(`ratio with that fixed cost taken out: push ${((median(pushT.gitback) - fixed) / median(pushT.plain)).toFixed(2)}×, clone ${((median(cloneT.gitback) - fixed) / median(cloneT.plain)).toFixed(2)}×`);
    console.log(`goal ≤ 1.20×: push ${rp <= 1.2 ? 'met' : 'NOT met'}, clone ${rc <= 1.2 ? 'met' : 'NOT met'}`);
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
