// Chain verification against raw Ed25519 verification, measured in the same run.
// `npm run bench:trust`. Figures: raw verifications/s (the baseline), then chain
// verifications/s at depth 1, 3 and 5, without and with delegations (2), uncached and
// with a VerifyCache holding the already-verified tokens. Every chain input is a fresh
// JSON copy, as if just parsed from a header.
// Method: the machine is shared (CI, other processes), so raw and chain verifications are
// timed alternately, sample by sample: sample k of each is taken back to back, under the
// same load. Each ratio to raw is the median over k of chain_k / raw_k, which cancels load
// that changes from one millisecond to the next; the ratio of the two medians is printed
// beside it (on a quiet machine the two agree; on a loaded one the unpaired figure drifts
// with the load). Every verifier is warmed up before it is timed, as raw verification is.
// Figures per second are 1e6 / the median time per operation.
import { fileURLToPath } from 'node:url';
import {
  fromHex,
  mintBootstrapToken,
  mintChildToken,
  mintDelegation,
  seedSigner,
  signingMessage,
  verifyChain,
  verifyRaw,
  VerifyCache,
  type Delegation,
  type Signer,
  type Token,
  type VerifyInput,
} from '../src/trust/index.js';

const T0 = 1_764_000_000;
const NOW = T0 + 86_400;
const signer = (n: number): Signer => seedSigner(new Uint8Array(32).fill(n));

export interface BenchFixtures {
  projectId: string;
  plain: Token[]; // rooted at the genesis founder, no delegations
  delegated: Token[]; // rooted at the founder installed by the delegations
  delegations: Delegation[];
}

export async function buildFixtures(maxDepth = 5, delegationCount = 2): Promise<BenchFixtures> {
  const genesis = signer(1);
  const plain: Token[] = [await mintBootstrapToken(genesis, 'bench', T0)];
  const pid = plain[0]!.project_id;
  const founders = [genesis];
  const delegations: Delegation[] = [];
  for (let i = 0; i < delegationCount; i++) {
    founders.push(signer(100 + i));
    delegations.push(await mintDelegation(founders[i]!, pid, delegations, founders[i + 1]!.publicKey, T0 + 10 * (i + 1)));
  }
  const current = founders[founders.length - 1]!;
  const delegated: Token[] = [await mintBootstrapToken(current, 'bench', T0 + 100, { projectId: pid })];
  let holders = [genesis, current];
  for (let d = 1; d < maxDepth; d++) {
    const next = [signer(10 + d), signer(50 + d)];
    const role = d === maxDepth - 1 ? 'member' : 'admin';
    plain.push(await mintChildToken(holders[0]!, plain, next[0]!.publicKey, role, T0 + d, null));
    delegated.push(await mintChildToken(holders[1]!, delegated, next[1]!.publicKey, role, T0 + 100 + d, null));
    holders = next;
  }
  return { projectId: pid, plain, delegated, delegations };
}

/** Microseconds per call of each fn, one sample of each in turn, until minMs have passed. */
export function sampleMicros(fns: { fn: (i: number) => void; group: number }[], minMs: number, minSamples = 9): number[][] {
  const samples: number[][] = fns.map(() => []);
  const start = performance.now();
  let k = 0;
  while (performance.now() - start < minMs || k < minSamples) {
    fns.forEach(({ fn, group }, j) => {
      const t0 = performance.now();
      for (let g = 0; g < group; g++) fn(k * group + g);
      samples[j]!.push(((performance.now() - t0) * 1000) / group);
    });
    k++;
  }
  return samples;
}

export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Median microseconds per call of each fn, sampled alternately until minMs have passed. */
export function medianMicros(fns: { fn: (i: number) => void; group: number }[], minMs: number, minSamples = 9): number[] {
  return sampleMicros(fns, minMs, minSamples).map(median);
}

/** The median over k of b_k / a_k: two series sampled alternately, pair by pair. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(b.map((x, k) => x / a[k]!));
}

export interface Scenario {
  name: string;
  depth: number;
  delegations: number;
  cached: boolean;
}

export interface Figure extends Scenario {
  opsPerSec: number;
  signatures: number; // signature checks an uncached verification performs
  costInRaw: number; // raw verifications one chain verification costs (median of paired ratios)
  costInRawUnpaired: number; // the same from the two medians
}

export interface BenchReport {
  rawPerSec: number;
  figures: Figure[];
}

function chainInputs(fx: BenchFixtures, s: Scenario, copies: number): VerifyInput[] {
  const chain = (s.delegations > 0 ? fx.delegated : fx.plain).slice(0, s.depth);
  const delegations = fx.delegations.slice(0, s.delegations);
  const presenter = chain[chain.length - 1]!.subject;
  return Array.from({ length: copies }, () => ({
    projectId: fx.projectId,
    chain: JSON.parse(JSON.stringify(chain)) as Token[],
    delegations: JSON.parse(JSON.stringify(delegations)) as Delegation[],
    revoked: new Map<string, string | null>(),
    now: NOW,
    presenter,
  }));
}

export const SCENARIOS: Scenario[] = [1, 3, 5].flatMap((depth) =>
  [0, 2].flatMap((delegations) => [false, true].map((cached) => ({ name: `depth ${depth}, ${delegations} delegations, ${cached ? 'cached' : 'uncached'}`, depth, delegations, cached }))),
);

export async function runBench(opts: { minMs?: number; copies?: number } = {}): Promise<BenchReport> {
  const minMs = opts.minMs ?? 700;
  const copies = opts.copies ?? 256;
  const fx = await buildFixtures();
  const root = fx.plain[1]!;
  const rawMsg = signingMessage('token', root);
  const rawPk = fromHex(root.issuer);
  const rawSig = fromHex(root.sig);
  if (!verifyRaw(rawPk, rawMsg, rawSig)) throw new Error('bench fixture does not verify');
  const raw = { fn: () => verifyRaw(rawPk, rawMsg, rawSig), group: 1 };
  medianMicros([raw], Math.min(minMs, 200)); // warm up

  const rawMicros: number[] = [];
  const figures = SCENARIOS.map((s) => {
    const inputs = chainInputs(fx, s, copies);
    const cache = new VerifyCache();
    if (s.cached) verifyChain({ ...inputs[0]!, cache });
    const chain = {
      fn: (k: number) => {
        const inp = inputs[k % inputs.length]!;
        const res = verifyChain(s.cached ? { ...inp, cache } : inp);
        if (!res.ok) throw new Error(`${s.name}: ${res.code} ${res.message}`);
      },
      group: s.cached ? 16 : 1,
    };
    // The raw side was warmed up once above; each chain verifier gets the same chance to be
    // optimized by the JIT before it is timed (otherwise the first scenario pays for it).
    medianMicros([chain], Math.min(minMs, 100));
    const [rawSamples, chainSamples] = sampleMicros([raw, chain], minMs) as [number[], number[]];
    const rawUs = median(rawSamples);
    const chainUs = median(chainSamples);
    rawMicros.push(rawUs);
    return {
      ...s,
      opsPerSec: 1e6 / chainUs,
      signatures: s.depth + s.delegations,
      costInRaw: pairedRatio(rawSamples, chainSamples),
      costInRawUnpaired: chainUs / rawUs,
    };
  });
  return { rawPerSec: 1e6 / median(rawMicros), figures };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);

export function formatReport(rep: BenchReport): string[] {
  const lines = [`raw Ed25519 verify (baseline)            ${fmt(rep.rawPerSec)} /s   1.00x`];
  let uncachedOk = true;
  let cachedOk = true;
  for (const f of rep.figures) {
    const label = `chain ${f.name}`.padEnd(40);
    if (!f.cached) {
      const perSig = f.costInRaw / f.signatures;
      if (perSig > 1.15) uncachedOk = false;
      lines.push(
        `${label} ${fmt(f.opsPerSec)} /s   ratio to raw ${(1 / f.costInRaw).toFixed(3)} = costs ${f.costInRaw.toFixed(2)} raw verifications for ${f.signatures} signature(s): ` +
          `${perSig.toFixed(3)}x per signature (unpaired medians: ${(f.costInRawUnpaired / f.signatures).toFixed(3)}x)`,
      );
    } else {
      const unc = rep.figures.find((u) => !u.cached && u.depth === f.depth && u.delegations === f.delegations)!;
      const speedup = unc.costInRaw / f.costInRaw;
      if (speedup < 20) cachedOk = false;
      lines.push(`${label} ${fmt(f.opsPerSec)} /s   ratio to raw ${(1 / f.costInRaw).toFixed(2)}  ${speedup.toFixed(1)}x faster than uncached`);
    }
  }
  lines.push(`goal: uncached chain <= 1.15 x (depth + delegations) raw verifications: ${uncachedOk ? 'met' : 'NOT met'}`);
  lines.push(`goal: cached repeat >= 20x faster than uncached: ${cachedOk ? 'met' : 'NOT met'}`);
  return lines;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const rep = await runBench();
  for (const line of formatReport(rep)) console.log(line);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s, node ${process.version})`);
}
