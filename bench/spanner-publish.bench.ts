// The time a spanner-mode `vigocli config publish` on bolt A takes until all three bolts
// serve the new stacks commit, against a publish to one bolt (`--bolt-only`, which
// publishes as a standalone server does: validate, swap .live, reload) in the same run, on
// the stacks bed of test/e2e/stacks-bed.ts: three netns hosts each running a real vigosrv
// bolt and a real agent, the stacks project replicated among the agents by the real swarm
// (root's `replicate`, fan-out, the watchers). Each round publishes a changed motd both
// ways, interleaved; the whole command is timed (process start to exit), and the CLI's own
// `waited_ms` (from its push until every bolt served the commit) is printed beside it.
// Root only (network namespaces). BENCH_ROUNDS changes the default (7).
import { performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netnsUnavailable } from '../test/helpers/netns.js';
import { MOTD, StacksBed } from '../test/e2e/stacks-bed.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface PublishJson {
  mode: string;
  commit: string;
  waited_ms: number;
  bolts: { bolt_id: string; reached: boolean }[];
}

async function main(): Promise<void> {
  const why = netnsUnavailable();
  if (why !== null) {
    console.log(`skipped: ${why}`);
    return;
  }
  const s = new StacksBed();
  try {
    const t0 = performance.now();
    await s.setup();
    await s.converged();
    console.log(`stacks bed up in ${Math.round(performance.now() - t0)} ms: 3 bolts, 4 agents, the stacks project ${s.pid.slice(0, 12)}… on every bolt`);
    const motd = join(s.dataDir('a'), 'stacks', 'configcrates', 'motd.vgo');
    const spanner: number[] = [];
    const waited: number[] = [];
    const single: number[] = [];
    console.log('round  spanner publish (all 3 bolts serve)  CLI waited  --bolt-only publish (bolt-a)');
    for (let i = 0; i < ROUNDS; i++) {
      writeFileSync(motd, MOTD(`spanner ${i}`));
      let t = performance.now();
      const out = JSON.parse(await s.ok('a', ['config', 'publish', '--json'])) as PublishJson;
      const sp = performance.now() - t;
      if (out.mode !== 'spanner' || out.bolts.length !== 3 || !out.bolts.every((b) => b.reached)) throw new Error(`round ${i}: the publish did not reach every bolt: ${JSON.stringify(out)}`);
      writeFileSync(motd, MOTD(`bolt-only ${i}`));
      t = performance.now();
      await s.ok('a', ['config', 'publish', '--bolt-only']);
      const one = performance.now() - t;
      // the first round pays the cold caches of both paths: reported, not counted
      if (i > 0) {
        spanner.push(sp);
        waited.push(out.waited_ms);
        single.push(one);
      }
      console.log(`${String(i).padEnd(7)}${`${Math.round(sp)} ms`.padEnd(37)}${`${out.waited_ms} ms`.padEnd(12)}${Math.round(one)} ms${i === 0 ? '  (warm-up, not counted)' : ''}`);
    }
    const m = median(spanner);
    const b = median(single);
    console.log(`median of ${spanner.length}: spanner publish ${Math.round(m)} ms (CLI waited ${Math.round(median(waited))} ms), --bolt-only ${Math.round(b)} ms; ratio ${(m / b).toFixed(2)}×`);
  } finally {
    s.destroy();
  }
}

await main();
