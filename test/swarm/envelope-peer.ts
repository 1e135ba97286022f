/**
 * One envoy's envelope gossip as a real process, for test/swarm/envelope-netns.test.ts:
 *   node envelope-peer.js serve <config.json>
 *     a SwarmTransport with EnvelopeNode's routes over the envoy's envelope store on disk
 *     (under the config's VIGO_ROOT), its peers named in the config (a static peer table:
 *     discovery is not what this test is about); prints `ready <port>`, then answers
 *     JSON-line commands on stdin, one JSON line each on stdout:
 *       {"id":1,"cmd":"sweep","kind":"revoke","env":{…}}  → the reactor's storeRevoke for uid 1000, then poke
 *       {"id":2,"cmd":"status"}  → {id, ok, ids, digest, revoked, counters, refusals, inFlight, files}
 *   node envelope-peer.js post <identity-dir> <host> <port> <envoy-id> <path> <body-file>
 *     one POST as a hostile peer would send it; prints {ok, status, body}.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock, cryptoRng } from '../../src/platform/clock.js';
import { paths } from '../../src/platform/paths.js';
import { gossipEnvelopeStore, storeLeave, storeRevoke } from '../../src/gitback/index.js';
import { EnvelopeNode, ProjectPeers, SwarmTransport, inForce, swarmCall, type SwarmIdentity } from '../../src/swarm/index.js';
import type { Hex, LeaveEnvelope, RevokeEnvelope } from '../../src/trust/index.js';

export interface EnvelopePeerConfig {
  identityDir: string;
  envoyId: string;
  host: string;
  port: number;
  vigoRoot: string;
  pid: Hex;
  peers: Array<{ host: string; port: number; envoyId: string }>;
  reconcileMs: number;
  storePollMs: number;
  callDeadlineMs: number;
  maxRetries: number;
}

function identityOf(dir: string): SwarmIdentity {
  return { cert: readFileSync(join(dir, 'envoy.crt'), 'utf8'), key: readFileSync(join(dir, 'envoy.key'), 'utf8'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}

const out = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
const [mode, ...args] = process.argv.slice(2);

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const acc: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d, { withFileTypes: true })) {
      if (n.isDirectory()) walk(join(d, n.name));
      else acc.push(join(d, n.name).slice(dir.length + 1));
    }
  };
  walk(dir);
  return acc.sort();
}

if (mode === 'serve') {
  const cfg = JSON.parse(readFileSync(args[0]!, 'utf8')) as EnvelopePeerConfig;
  const identity = identityOf(cfg.identityDir);
  const log = (l: string): void => void process.stderr.write(`${new Date().toISOString()} ${l}\n`);
  const dir = paths.gitbackEnvelopes({ VIGO_ROOT: cfg.vigoRoot });
  const store = gossipEnvelopeStore(dir, () => [], undefined, log);
  const peers = new ProjectPeers({ selfHost: cfg.host, ttlMs: 7 * 86_400_000 });
  const now = systemClock.now();
  for (const p of cfg.peers) {
    peers.observe({ kind: 'project', host: p.host, projectId: cfg.pid, handle: 'vigo-web', scope: 'swarm-wide' }, now);
    peers.observe({ kind: 'envoy', host: p.host, envoyId: p.envoyId, port: p.port }, now);
  }
  const transport = new SwarmTransport({ identity, host: cfg.host, port: cfg.port, log });
  const node = new EnvelopeNode({
    transport,
    identity,
    store,
    peers,
    projects: () => [cfg.pid],
    clock: systemClock,
    rng: cryptoRng,
    gossip: { reconcileMs: cfg.reconcileMs, storePollMs: cfg.storePollMs, maxRetries: cfg.maxRetries, requestTimeoutMs: cfg.callDeadlineMs * 2 },
    callDeadlineMs: cfg.callDeadlineMs,
    localAddress: cfg.host,
    log,
  });
  const { port } = await transport.listen();
  node.start();
  process.stdout.write(`ready ${port}\n`);
  process.on('SIGTERM', () => void node.close().then(() => transport.close()).then(() => process.exit(0)));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as { id: number; cmd: string; kind?: 'revoke' | 'leave'; env?: unknown };
    try {
      if (c.cmd === 'sweep') {
        if (c.kind === 'revoke') storeRevoke(dir, c.env as RevokeEnvelope, 1000);
        else storeLeave(dir, c.env as LeaveEnvelope, 1000);
        node.poke();
        out({ id: c.id, ok: true });
      } else if (c.cmd === 'status') {
        const t = systemClock.now();
        const held = store.load(cfg.pid, Math.floor(t / 1000));
        out({
          id: c.id,
          ok: true,
          ids: [...inForce(held).keys()].sort(),
          digest: node.machine.digest(cfg.pid, t),
          revoked: [...held.set.revoked],
          counters: node.machine.counters,
          refusals: node.machine.refusals,
          bytes: node.bytes,
          files: files(dir),
        });
      } else out({ id: c.id, ok: false, error: `unknown command ${c.cmd}` });
    } catch (e) {
      out({ id: c.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
} else if (mode === 'post') {
  const [idDir, host, port, envoyId, path, bodyFile] = args as [string, string, string, string, string, string];
  try {
    const r = await swarmCall({ identity: identityOf(idDir), host, port: Number(port), expectEnvoyId: envoyId, method: 'POST', path, body: readFileSync(bodyFile), headers: { 'content-type': 'application/json' }, deadlineMs: 30_000 });
    out({ ok: true, status: r.status, body: JSON.parse(r.body.toString('utf8')) as unknown });
  } catch (e) {
    out({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}
