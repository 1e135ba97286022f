// Envelope gossip across three envoys in three netns hosts, each a real process running
// EnvelopeNode over its own swarm transport (mTLS, one fleet CA) and its own envelope store
// on disk. An operator's story: mallory, an envoy of the same fleet, posts forged revokes
// (a member's, another project's, one edited after signing) — each is dropped and no store
// changes; alice's revoke of bob, swept on A, reaches B by gossip while C is cut off; once
// the partition heals, C has it within one reconciliation period, and names the revocation.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsUnavailable, useNetnsBed } from '../helpers/netns.js';
import { envelopeId } from '../../src/trust/index.js';
import { encodeEnvelopePost, gossipPath } from '../../src/swarm/index.js';
import { TestFleet, writeIdentityDir, type TestEnvoy } from './transport-fleet.js';
import { gossipFixture, type GossipFixture } from './gossip-fixtures.js';
import { RuntimeProc, type Reply } from './runtime-bed.js';
import type { EnvelopePeerConfig } from './envelope-peer.js';

const skip = netnsUnavailable();
const peerJs = fileURLToPath(new URL('./envelope-peer.js', import.meta.url));
const PORT = 1531;
const RECONCILE_MS = 8_000;
const JITTER = 0.1;

async function until<T>(what: string, f: () => Promise<T | null>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('envelope gossip across netns hosts', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['a', 'b', 'c', 'm']);
  const envoys: Record<string, TestEnvoy> = {};
  const idDirs: Record<string, string> = {};
  const procs: Record<string, RuntimeProc> = {};
  let f: GossipFixture;

  const status = async (h: string): Promise<Reply & { ids: string[]; files: string[]; revoked: Array<[string, string]>; counters: Record<string, number>; refusals: Record<string, number> }> => {
    const r = await procs[h]!.cmd({ cmd: 'status' });
    assert.ok(r.ok, `${h}: ${r.error ?? ''} ${procs[h]!.stderr}`);
    return r as never;
  };

  before(async () => {
    f = await gossipFixture();
    const fleet = await TestFleet.create();
    for (const h of ['a', 'b', 'c', 'm']) {
      envoys[h] = await fleet.envoy(h);
      idDirs[h] = writeIdentityDir(envoys[h]!, bed().host(h).vigoRoot);
    }
    for (const h of ['a', 'b', 'c']) {
      const cfg: EnvelopePeerConfig = {
        identityDir: idDirs[h]!,
        envoyId: envoys[h]!.id,
        host: bed().host(h).addr,
        port: PORT,
        vigoRoot: bed().host(h).vigoRoot,
        pid: f.pid,
        peers: ['a', 'b', 'c'].filter((x) => x !== h).map((x) => ({ host: bed().host(x).addr, port: PORT, envoyId: envoys[x]!.id })),
        reconcileMs: RECONCILE_MS,
        storePollMs: 1_000,
        callDeadlineMs: 4_000,
        // pushes are not retried: what reaches C after the heal comes by reconciliation
        maxRetries: 1,
      };
      const file = join(bed().host(h).vigoRoot, 'gossip.json');
      writeFileSync(file, JSON.stringify(cfg));
      const p = bed().spawn(h, [process.execPath, peerJs, 'serve', file], { stdio: ['pipe', 'pipe', 'pipe'] });
      procs[h] = new RuntimeProc(p);
      await new Promise<void>((resolve, reject) => {
        const onData = (d: Buffer): void => {
          if (!d.toString().includes('ready')) return;
          p.stdout?.off('data', onData);
          resolve();
        };
        p.stdout?.on('data', onData);
        p.once('exit', (code) => reject(new Error(`envelope peer on ${h} exited ${String(code)}: ${procs[h]!.stderr}`)));
      });
    }
  });

  test("mallory's forged revokes are dropped by A and B with their codes, and no store changes", async () => {
    const work = join(bed().host('m').vigoRoot, 'posts');
    mkdirSync(work, { recursive: true });
    const post = async (to: string, path: string, body: string) => {
      const file = join(work, `${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, body);
      const r = await bed().exec('m', [process.execPath, peerJs, 'post', idDirs.m!, bed().host(to).addr, String(PORT), envoys[to]!.id, path, file]);
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, `no result from mallory: ${r.stderr}`);
      return JSON.parse(line) as { ok: boolean; status: number; body: { refused?: Array<{ code: string; message: string }>; accepted?: string[]; error?: { code: string } } };
    };
    for (const to of ['a', 'b']) {
      const r = await post(to, gossipPath(f.pid, 'revokes'), encodeEnvelopePost([f.forgedByMember, f.otherProject, f.badSignature]));
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.deepEqual(r.body.accepted, []);
      assert.deepEqual(r.body.refused?.map((x) => x.code), ['E_NOT_ADMIN', 'E_WRONG_PROJECT', 'E_BAD_SIGNATURE'], JSON.stringify(r.body));
      const other = await post(to, gossipPath(f.otherPid, 'revokes'), encodeEnvelopePost([f.otherProject]));
      assert.deepEqual([other.status, other.body.error?.code], [404, 'E_GOSSIP_PROJECT_UNKNOWN']);
      const st = await status(to);
      assert.deepEqual([st.ids, st.files], [[], []], `${to}: nothing stored`);
    }
  });

  test('a revoke swept on A reaches B while C is cut off, and C within one reconciliation period after the heal', async () => {
    bed().partition([['a', 'b', 'm'], ['c']]);
    const id = envelopeId(f.revokeBob);
    const t0 = Date.now();
    assert.ok((await procs.a!.cmd({ cmd: 'sweep', kind: 'revoke', env: f.revokeBob })).ok);
    await until('B has the revoke', async () => ((await status('b')).ids.includes(id) ? true : null));
    console.log(`A → B: ${Date.now() - t0} ms`);
    // C is cut off: A's and B's pushes to it time out (and are not retried)
    await until('the pushes to C failed', async () => (/post of \S+ with \S+ failed/.test(procs.a!.stderr) && /post of \S+ with \S+ failed/.test(procs.b!.stderr) ? true : null));
    assert.deepEqual((await status('c')).ids, [], 'C has nothing yet');
    bed().heal();
    const healed = Date.now();
    await until('C has the revoke', async () => ((await status('c')).ids.includes(id) ? true : null), 120_000);
    const took = Date.now() - healed;
    const st = await status('c');
    const pulls = st.counters.pulls! + (await status('a')).counters.pulls! + (await status('b')).counters.pulls!;
    console.log(`heal → C: ${took} ms (reconcile period ${RECONCILE_MS} ms ± ${JITTER * 100}%); pulls a+b+c ${pulls}; C counters ${JSON.stringify(st.counters)}`);
    assert.ok(pulls >= 1, 'it came by reconciliation');
    // one period plus slack for a loaded 2-core machine (calls, process scheduling)
    assert.ok(took < RECONCILE_MS * (1 + JITTER) + 20_000, `took ${took} ms`);
    const reason = new Map(st.revoked).get(f.bobToken) ?? '';
    assert.match(reason, /laptop lost/);
    assert.ok(reason.includes(id), `C names the revocation: ${reason}`);
    for (const h of ['a', 'b', 'c']) assert.deepEqual((await status(h)).ids, [id], `${h}: only the real revoke is held`);
  });
});
