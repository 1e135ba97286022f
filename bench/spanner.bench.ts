// The cost of forwarding a per-bolt admin query bolt to bolt, against the same query
// answered locally, in one run: two real vigosrv bolts on loopback (A the hub, B a spoke
// that joined it), BENCH_ENVOYS envoys enrolled at B through the real enrollment API
// (a key and CSR each, POST /api/v1/enroll; they do not check in, so they are no-data).
// Each round asks `bolt show bolt-b` and `bolt envoys bolt-b` of B (local) and of A
// (forwarded to B), interleaved, one HTTPS request at a time over Node's default keep-alive
// agent (so are A's calls to B: a forwarded call costs one extra hop, not a TLS handshake); prints
// median and p95 of each and the ratio forwarded / local.
// BENCH_ENVOYS, BENCH_CALLS change the defaults (500, 200).
import { performance } from 'node:perf_hooks';
import { enrollSimulated } from '../test/server/harness.js';
import { startSpanner } from '../test/helpers/spanner-bed.js';
import { apiRaw, type ApiTarget } from '../src/wire/rest-client.js';

const ENVOYS = Number(process.env.BENCH_ENVOYS ?? 500);
const CALLS = Number(process.env.BENCH_CALLS ?? 200);

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;

async function timed(t: ApiTarget, path: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const r = await apiRaw(t, 'GET', path);
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`GET ${path} at ${t.server}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return { ms, bytes: Buffer.byteLength(JSON.stringify(r.body)) };
}

async function main(): Promise<void> {
  const bed = await startSpanner([
    { id: 'bolt-a', patterns: ['web-*'] },
    { id: 'bolt-b', patterns: ['db-*'] },
  ]);
  try {
    const [A, B] = bed.bolts as [(typeof bed.bolts)[0], (typeof bed.bolts)[0]];
    const e0 = performance.now();
    for (let i = 0; i < ENVOYS; i += 10) await Promise.all(Array.from({ length: Math.min(10, ENVOYS - i) }, (_, j) => enrollSimulated(B.admin, `db-${String(i + j).padStart(5, '0')}`)));
    console.log(`enrolled ${ENVOYS} envoys at bolt-b through POST /api/v1/enroll in ${Math.round(performance.now() - e0)} ms`);
    const queries = [
      { name: 'bolt show bolt-b', path: '/api/v1/spanner/bolts/bolt-b' },
      { name: 'bolt envoys bolt-b', path: '/api/v1/spanner/bolts/bolt-b/envoys' },
    ];
    // warm both paths (TLS session setup, SQLite statement caches, JIT)
    for (const q of queries) for (let i = 0; i < 10; i++) await Promise.all([timed(B.admin, q.path), timed(A.admin, q.path)]);
    console.log(`${CALLS} calls each, interleaved, one at a time; local = asked of bolt-b, forwarded = asked of bolt-a (A → B signed call, answer relayed)`);
    console.log('query                 answer     local median  p95      forwarded median  p95      ratio (median)');
    for (const q of queries) {
      const local: number[] = [];
      const fwd: number[] = [];
      let bytes = 0;
      for (let i = 0; i < CALLS; i++) {
        const l = await timed(B.admin, q.path);
        const f = await timed(A.admin, q.path);
        local.push(l.ms);
        fwd.push(f.ms);
        bytes = l.bytes;
        if (f.bytes !== l.bytes) throw new Error(`${q.name}: the forwarded answer (${f.bytes} B) differs in size from the local one (${l.bytes} B)`);
      }
      const lm = quantile(local, 0.5);
      const fm = quantile(fwd, 0.5);
      console.log(
        `${q.name.padEnd(22)}${`${(bytes / 1024).toFixed(1)} KiB`.padEnd(11)}${`${lm.toFixed(2)} ms`.padEnd(14)}${`${quantile(local, 0.95).toFixed(2)} ms`.padEnd(9)}${`${fm.toFixed(2)} ms`.padEnd(18)}${`${quantile(fwd, 0.95).toFixed(2)} ms`.padEnd(9)}${(fm / lm).toFixed(2)}×`,
      );
    }
  } finally {
    await bed.cleanup();
  }
}

await main();
