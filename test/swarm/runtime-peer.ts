/**
 * One envoy's replication runtime as a real process, for the netns tests:
 *   node runtime-peer.js serve <config.json>
 *     runs SwarmNode + Announcer as the config says (its identity dir, VIGO_ROOT paths,
 *     announce group, the pusher's seed and chain in files, never argv); prints
 *     `ready <port>`, then answers JSON-line commands on stdin, one JSON line each on stdout:
 *       {"id":1,"cmd":"push","pid":…,"refs":[{ref,old,new}],"seq":n}  → {id, ok, update}
 *           (the refs are already in the bare repo: a real `git push` put them there)
 *       {"id":2,"cmd":"status","pid":…}  → {id, ok, tips, peers, envoys, refusals, counters, announcer}
 *   node runtime-peer.js raw <identity-dir> <host> <port> <envoy-id> <pid> <head.json> <body-file|->
 *     one POST /swarm/gitback/push/<pid> of `<head.json>\n<body-file>`; prints {ok, status, body} or {ok:false, code}.
 *   node runtime-peer.js get <identity-dir> <host> <port> <envoy-id> <pid> <chain-file>
 *     one GET /swarm/gitback/bundle/<pid>; prints {ok, status, error}.
 *   node runtime-peer.js udp <group> <port> <interface-address> <datagram-file>
 *     sends the file as one multicast datagram; prints {ok}.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createSocket } from 'node:dgram';
import { systemClock, cryptoRng } from '../../src/platform/clock.js';
import { VigoError } from '../../src/platform/errors.js';
import { fromHex, seedSigner, type Hex, type Scope } from '../../src/trust/index.js';
import { Announcer, ProjectPeers, SwarmNode, signManifest, swarmCall, type RefUpdate, type SwarmIdentity } from '../../src/swarm/index.js';

export interface RuntimeConfig {
  identityDir: string;
  envoyId: string;
  host: string;
  port: number;
  base: string;
  projectsDir: string;
  group: string;
  announcePort: number;
  intervalMs: number;
  tickMs: number;
  pushBodyLimitBytes: number;
  /** the pusher's puddle seed (hex) and X-Vigo-Chain, in files */
  seedFile: string;
  chainFile: string;
  projects: Array<{ pid: Hex; handle: string; scope: Scope; /** project.json::cross_subnet_members */ crossSubnet?: string[] }>;
  /** false: no announcer (a host that multicast does not reach; only cross_subnet_members find it) */
  announce?: boolean;
}

function identityOf(dir: string): SwarmIdentity {
  return { cert: readFileSync(join(dir, 'envoy.crt'), 'utf8'), key: readFileSync(join(dir, 'envoy.key'), 'utf8'), ca: readFileSync(join(dir, 'ca.crt'), 'utf8') };
}

const out = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve') {
  const cfg = JSON.parse(readFileSync(args[0]!, 'utf8')) as RuntimeConfig;
  const identity = identityOf(cfg.identityDir);
  const signer = seedSigner(fromHex(readFileSync(cfg.seedFile, 'utf8').trim()));
  const chain = readFileSync(cfg.chainFile, 'utf8').trim();
  const log = (l: string): void => void process.stderr.write(`${new Date().toISOString()} ${l}\n`);
  const peers = new ProjectPeers({ selfHost: cfg.host, ttlMs: 3 * cfg.intervalMs });
  const node = new SwarmNode({
    identity,
    envoyId: cfg.envoyId,
    listenHost: cfg.host,
    port: cfg.port,
    base: cfg.base,
    projectsDir: cfg.projectsDir,
    peers,
    clock: systemClock,
    rng: cryptoRng,
    chainFor: () => chain,
    replication: { tickMs: cfg.tickMs, retryBaseMs: 500, retryMaxMs: 4000, requestTimeoutMs: 60_000 },
    pushBodyLimitBytes: cfg.pushBodyLimitBytes,
    callDeadlineMs: 30_000,
    log,
  });
  const handles = new Map(cfg.projects.map((p) => [p.pid, p.handle]));
  for (const p of cfg.projects) {
    const bad = peers.setCrossSubnetMembers(p.pid, p.crossSubnet ?? []);
    if (bad.length > 0) throw new Error(`cross_subnet_members: ${JSON.stringify(bad)}`);
    node.join(p.pid, p.scope);
  }
  const announcer = new Announcer({
    host: cfg.host,
    envoyId: cfg.envoyId,
    peerPort: cfg.port,
    interfaceAddress: cfg.host,
    group: cfg.group,
    port: cfg.announcePort,
    intervalMs: cfg.intervalMs,
    peers,
    held: () => node.held().map((h) => ({ ...h, handle: handles.get(h.projectId) ?? 'project' })),
    cachePath: join(cfg.base, 'gitback-announced.json'),
    clock: systemClock,
    onPeers: () => node.poke(),
    log,
  });
  const { port } = await node.start();
  if (cfg.announce !== false) await announcer.start();
  process.stdout.write(`ready ${port}\n`);
  process.on('SIGTERM', () => {
    announcer.close();
    void node.close().then(() => process.exit(0));
  });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as { id: number; cmd: string; pid: Hex; refs?: RefUpdate[]; seq?: number };
    try {
      if (c.cmd === 'push') {
        const refs = c.refs ?? [];
        const { bundleSha256 } = await node.preparePush(c.pid, refs);
        const scope = cfg.projects.find((p) => p.pid === c.pid)?.scope ?? 'swarm-wide';
        const manifest = await signManifest({ v: 1, kind: 'gitback-manifest', project_id: c.pid, envoy: cfg.envoyId, pusher: Buffer.from(signer.publicKey).toString('hex'), seq: c.seq ?? 1, scope, bundle_sha256: bundleSha256, refs }, signer);
        const update = { manifest, chain };
        node.localPush(update);
        announcer.announce();
        out({ id: c.id, ok: true, update });
      } else if (c.cmd === 'status') {
        const now = Date.now();
        out({
          id: c.id,
          ok: true,
          tips: node.tips(c.pid),
          peers: peers.peersOf(c.pid, now).map((p) => p.key),
          peerIds: Object.fromEntries(peers.peersOf(c.pid, now).map((p) => [p.key, p.envoyId])),
          envoys: peers.envoys(now).map((p) => p.key),
          refusals: node.refusals,
          bytes: node.bytes,
          counters: node.machine.counters,
          announcer: announcer.counters,
        });
      } else out({ id: c.id, ok: false, error: `unknown command ${c.cmd}` });
    } catch (e) {
      out({ id: c.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  }
} else if (mode === 'raw' || mode === 'get') {
  const [dir, host, port, expect, pid, file, body] = args as [string, string, string, string, string, string, string | undefined];
  const identity = identityOf(dir);
  try {
    const base = { identity, host, port: Number(port), expectEnvoyId: expect, deadlineMs: 30_000 };
    const r =
      mode === 'raw'
        ? await swarmCall({
            ...base,
            method: 'POST',
            path: `/swarm/gitback/push/${pid}`,
            body: Readable.from(
              (async function* () {
                yield Buffer.from(`${readFileSync(file, 'utf8').trim()}\n`);
                if (body !== undefined && body !== '-') yield* createReadStream(body);
              })(),
            ),
          })
        : await swarmCall({ ...base, method: 'GET', path: `/swarm/gitback/bundle/${pid}`, headers: { 'x-vigo-chain': readFileSync(file, 'utf8').trim() } });
    let parsed: unknown = null;
    try {
      parsed = r.status === 200 && mode === 'get' ? null : (JSON.parse(r.body.toString('utf8')) as unknown);
    } catch {
      parsed = r.body.toString('utf8').slice(0, 200);
    }
    out({ ok: true, status: r.status, body: parsed, error: r.error });
  } catch (e) {
    out({ ok: false, code: e instanceof VigoError ? e.code : String(e), message: e instanceof Error ? e.message : '' });
  }
} else if (mode === 'udp') {
  const [group, port, iface, file] = args as [string, string, string, string];
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, iface, resolve));
  s.setMulticastInterface(iface);
  s.setMulticastTTL(1);
  await new Promise<void>((resolve, reject) => s.send(readFileSync(file), Number(port), group, (e) => (e ? reject(e) : resolve())));
  s.close();
  out({ ok: true });
} else {
  throw new Error(`runtime-peer: unknown mode ${String(mode)}`);
}
