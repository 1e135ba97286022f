// Unlock cost: unwrapping the puddle key (Argon2id with the chosen parameters, then
// XChaCha20-Poly1305) against a bare XChaCha20-Poly1305 decrypt of the same ciphertext
// measured in the same run; plus the OWASP-minimum parameters for comparison and the
// wall time of the real `vigo swarm puddle unlock` (process start, unwrap, helper start).
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { generateKeyPair } from '../src/trust/index.js';
import { DEFAULT_KDF, MIN_KDF, unwrapSeed, wrapSeed, type KdfParams } from '../src/puddle/wrap.js';

const PASS = 'correct horse battery staple';

function stats(samples: number[]): { median: number; mean: number; min: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0] as number };
}

async function timeUnwrap(kdf: KdfParams, runs: number): Promise<{ median: number; mean: number; min: number; baselineUs: number }> {
  const { publicKey, seed } = generateKeyPair();
  const salt = new Uint8Array(randomBytes(16));
  const nonce = new Uint8Array(randomBytes(24));
  const w = await wrapSeed({ seed, publicKey, passphrase: PASS, salt, nonce, kdf });
  await unwrapSeed(w, salt, PASS, 'bench'); // warm-up (WASM instantiation)
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const s = await unwrapSeed(w, salt, PASS, 'bench');
    samples.push(performance.now() - t0);
    s.fill(0);
  }
  // baseline: the AEAD step alone — a bare XChaCha20-Poly1305 decrypt of a 32-byte seed
  const bk = new Uint8Array(randomBytes(32));
  const bn = new Uint8Array(randomBytes(24));
  const bct = xchacha20poly1305(bk, bn).encrypt(new Uint8Array(randomBytes(32)));
  const n = 20_000;
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) bytes += xchacha20poly1305(bk, bn).decrypt(bct).length;
  const baselineUs = ((performance.now() - t0) / n) * 1000;
  if (bytes !== 32 * n) throw new Error('baseline sanity check failed');
  return { ...stats(samples), baselineUs };
}

function timeCliUnlock(runs: number): number[] {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const vigo = join(repo, 'bin', 'vigo.js');
  const home = mkdtempSync(join(tmpdir(), 'vgt-bench-unlock-'));
  const env = { PATH: process.env.PATH, HOME: home, VIGO_PUDDLE_PASSPHRASE: PASS };
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [vigo, 'swarm', 'puddle', ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`vigo ${args.join(' ')}: ${r.stderr}`);
  };
  const out: number[] = [];
  try {
    run(['init']);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      run(['unlock', '--watch-pid', '0']);
      out.push(performance.now() - t0);
      run(['lock']);
    }
  } finally {
    spawnSync(process.execPath, [vigo, 'swarm', 'puddle', 'lock'], { env });
    rmSync(home, { recursive: true, force: true });
  }
  return out;
}

const runs = Number(process.env.BENCH_RUNS ?? 10);
const fmt = (k: KdfParams) => `m=${k.m_kib} KiB t=${k.t} p=${k.p}`;
const chosen = await timeUnwrap(DEFAULT_KDF, runs);
const owasp = await timeUnwrap({ alg: 'argon2id', ...MIN_KDF }, runs);
console.log(`puddle-unlock.bench: ${runs} runs each, node ${process.version}`);
console.log(`  baseline  bare XChaCha20-Poly1305 decrypt (32 B + tag): ${chosen.baselineUs.toFixed(2)} µs/op`);
console.log(
  `  unwrap    chosen  Argon2id ${fmt(DEFAULT_KDF)}: median ${chosen.median.toFixed(1)} ms (mean ${chosen.mean.toFixed(1)}, min ${chosen.min.toFixed(1)})` +
    `  ratio ${((chosen.median * 1000) / chosen.baselineUs).toFixed(0)}× baseline`,
);
console.log(
  `  unwrap    OWASP minimum ${fmt({ alg: 'argon2id', ...MIN_KDF })}:  median ${owasp.median.toFixed(1)} ms` +
    `  ratio ${((owasp.median * 1000) / chosen.baselineUs).toFixed(0)}× baseline; chosen/minimum ${(chosen.median / owasp.median).toFixed(1)}×`,
);
const cli = stats(timeCliUnlock(Math.max(3, Math.floor(runs / 3))));
console.log(`  end to end \`vigo swarm puddle unlock\` (node start + unwrap + helper ready): median ${cli.median.toFixed(0)} ms`);
