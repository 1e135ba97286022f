/**
 * A spanner of real vigosrv bolts on loopback for e2e tests and benches: each bolt a Fleet
 * (own VIGO_ROOT, own ports); the first is the hub and founds the spanner, the others join
 * it through an invite, as an operator would (`spanner init`, `bolt invite`, `bolt join`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, freePort, waitFor } from '../server/harness.js';
import { BOLT_KEY_WRAP_DOMAIN, boltKeyFile, loadOrCreateBoltIdentity, type BoltIdentity } from '../../src/spanner/index.js';
import { masterKeyWrap, secretsPaths } from '../../src/server/index.js';

export interface BoltSpec {
  id: string;
  patterns: string[];
}

export interface SpannerBed {
  bolts: Fleet[];
  ids: string[];
  cleanup(): Promise<void>;
}

/** The server.yaml sections of one bolt (the harness writes the `server:` section). */
export async function boltYaml(f: Fleet, mode: 'hub' | 'spoke', spec: BoltSpec, hub: Fleet | undefined, checkin = '1s'): Promise<string> {
  if (!f.restPort) f.restPort = await freePort();
  return (
    `checkin:\n  interval: ${checkin}\ndatabase:\n  flush_interval_ms: 200\n` +
    `spanner:\n  mode: ${mode}\n  spanner_id: acme-prod\n  bolt_id: ${spec.id}\n  advertise: 127.0.0.1:${f.restPort}\n` +
    `  patterns: [${spec.patterns.map((p) => JSON.stringify(p)).join(', ')}]\n  gossip_interval_s: 1\n` +
    (hub ? `  hub_addr: 127.0.0.1:${hub.restPort}\n` : '')
  );
}

export function cliOk(f: Fleet, args: string[]): string {
  const r = f.cli('vigocli.js', args);
  if (r.status !== 0) throw new Error(`vigocli ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Starts the bolts, founds the spanner on the first and joins the others; returns once every bolt lists all of them. */
export async function startSpanner(specs: BoltSpec[], checkin = '1s'): Promise<SpannerBed> {
  const bolts = specs.map(() => new Fleet());
  const bed: SpannerBed = { bolts, ids: specs.map((s) => s.id), cleanup: () => Promise.all(bolts.map((b) => b.cleanup())).then(() => undefined) };
  try {
    const hub = bolts[0]!;
    await hub.startServer(await boltYaml(hub, 'hub', specs[0]!, undefined, checkin));
    await Promise.all(bolts.slice(1).map(async (f, i) => f.startServer(await boltYaml(f, 'spoke', specs[i + 1]!, hub, checkin))));
    cliOk(hub, ['spanner', 'init']);
    for (const [i, f] of bolts.slice(1).entries()) {
      const file = join(hub.dir, `${specs[i + 1]!.id}.invite`);
      cliOk(hub, ['spanner', 'bolt', 'invite', '--ttl', '10m', '--out', file]);
      cliOk(f, ['spanner', 'bolt', 'join', '--from', hub.restUrl, '--code', readFileSync(file, 'utf8').trim()]);
    }
    for (const f of bolts) {
      await waitFor('every bolt in every roster', () => (JSON.parse(cliOk(f, ['spanner', 'bolt', 'list', '--json'])) as { bolts: unknown[] }).bolts.length === bolts.length, 30_000, 200);
    }
    return bed;
  } catch (e) {
    await bed.cleanup();
    throw e;
  }
}

/** A bolt's own key, opened from its secrets dir as vigosrv opens it (for forging and replaying calls in tests). */
export function boltKey(f: Fleet): BoltIdentity {
  const sp = secretsPaths(join(f.dataDir, 'secrets'), f.dataDir);
  return loadOrCreateBoltIdentity(boltKeyFile(sp.dir), masterKeyWrap(sp, BOLT_KEY_WRAP_DOMAIN));
}
