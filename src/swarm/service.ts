/**
 * The swarm in `vigo agent run` (issue 11 items 1 and 2): the peer server (SwarmNode, mTLS
 * on `swarm.listen`, default :1531) and the LAN announcer run only while this envoy's
 * swarm assignment — what vigosrv resolved from server.yaml `swarm.enabled` AND
 * `swarm.gitback.enabled` for its enrolled hostname — says gitback is on. A new assignment
 * from the check-in stream (`assign`) starts or stops them; the agent keeps running.
 * At start the last assignment kept on disk (/var/lib/vigo/swarm/assignment.json) stands
 * until the server says otherwise, as the cached bundle does for convergence.
 *
 * The node presents the envoy's enrollment certificate and trusts only the fleet CA it
 * enrolled under; its id is the certificate's CN. It joins every project a local user
 * holds (so it knows which members-only projects it is a member of), presents a local
 * member's chain to fetch, and verifies what arrives against the envoy's own envelope store.
 * Envelope gossip (EnvelopeNode, issue 12) runs on the node's transport over that same
 * store: revokes and leaves the reactor sweeps in are pushed to every peer of the project,
 * digests are reconciled every `reconcile_interval_s`, and what peers send lands where the
 * helper daemon and the node's trust view read it.
 *
 * agent.yaml:
 *   swarm:
 *     listen: ":1531"              # HOST:PORT or :PORT (every IPv4 address)
 *     announce_host: web-3.lan     # the host peers dial (default: the enrolled hostname)
 *     announce_interface: 10.0.0.5 # the interface address to announce on (default: the kernel's)
 *     announce_group: 239.77.15.31
 *     announce_port: 15310
 *     announce_interval_s: 30
 *     rescan_s: 30                 # how often local users' projects are looked for
 *     catchup_interval_s: 45       # the catch-up round: DR for one repo, ref anti-entropy
 *     reconcile_interval_s: 300    # envelope gossip: digest reconciliation with each peer
 *     envelope_poll_s: 30          # envelope gossip: store poll, the fallback of the sweep's poke
 *     push_body_limit_bytes: 536870912
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import type { AgentConfig, AgentContext, AgentService } from '../agent/index.js';
import { isEnrolled, readIdentity } from '../agent/index.js';
import { EnvelopeCache, gossipEnvelopeStore, knownPuddleKeys, LocalGitbackView, nameMapPath, parseGitbackConfig, readFleetNameMap, readPasswd } from '../gitback/index.js';
import { cryptoRng, systemClock, type Clock, type Rng } from '../platform/clock.js';
import { VigoError } from '../platform/errors.js';
import { paths } from '../platform/paths.js';
import type { Hex } from '../trust/index.js';
import { readSwarmAssignment, subsystemAllowed, type SwarmAssignment } from '../wire/swarm-assignment.js';
import { peerHintsFile } from '../wire/swarm-fleet.js';
import { PeerHintsReader } from './peer-hints.js';
import { gossipTrustView, DEFAULT_ENVELOPE_GOSSIP_CONFIG } from './envelope-gossip.js';
import { DEFAULT_GOSSIP_CALL_DEADLINE_MS, EnvelopeNode } from './envelope-node.js';
import { ANNOUNCED_CACHE_FILE, Announcer, DEFAULT_ANNOUNCE_GROUP, DEFAULT_ANNOUNCE_PORT } from './announcer.js';
import { DEFAULT_PUSH_BODY_LIMIT, SwarmNode } from './node.js';
import { DEFAULT_ANNOUNCE_INTERVAL_MS, ProjectPeers } from './peers.js';
import { DEFAULT_REPLICATION_CONFIG } from './replication.js';
import { envoyIdOf } from './transport-identity.js';
import { PairEndpoint } from './puddle-pair.js';
import { DEFAULT_SWARM_PORT } from './transport.js';

const section = z
  .object({
    listen: z
      .string()
      .regex(/^([0-9.]*|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT or :PORT (e.g. ":1531", "10.0.0.5:1531")')
      .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535')
      .default(`:${DEFAULT_SWARM_PORT}`),
    announce_host: z.string().min(1).max(253).optional(),
    announce_interface: z.ipv4().optional(),
    announce_group: z.ipv4().default(DEFAULT_ANNOUNCE_GROUP),
    announce_port: z.number().int().min(1).max(65535).default(DEFAULT_ANNOUNCE_PORT),
    announce_interval_s: z.number().positive().max(3600).default(DEFAULT_ANNOUNCE_INTERVAL_MS / 1000),
    rescan_s: z.number().positive().max(3600).default(30),
    catchup_interval_s: z.number().positive().max(3600).default(DEFAULT_REPLICATION_CONFIG.tickMs / 1000),
    reconcile_interval_s: z.number().positive().max(86_400).default(DEFAULT_ENVELOPE_GOSSIP_CONFIG.reconcileMs / 1000),
    envelope_poll_s: z.number().positive().max(86_400).default(DEFAULT_ENVELOPE_GOSSIP_CONFIG.storePollMs / 1000),
    push_body_limit_bytes: z.number().int().positive().max(16 * 1024 ** 3).default(DEFAULT_PUSH_BODY_LIMIT),
  })
  .strict();
export type SwarmSection = z.infer<typeof section>;

export function parseSwarmSection(config: AgentConfig): SwarmSection {
  const r = section.safeParse(config.sections.swarm ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new VigoError('E_CONFIG', `${config.file}: swarm.${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`, { hint: 'docs/gitback.md "Swarm in the agent" lists the keys' });
  }
  return r.data;
}

/** what is held is compared with the last announce at least this often (a stat per held repo) */
const HELD_CHECK_MAX_MS = 5_000;

/** how soon a swarm that failed to start is tried again */
export const DEFAULT_SWARM_RETRY_MS = 30_000;

export interface SwarmServiceOptions {
  clock?: Clock;
  rng?: Rng;
  /**
   * Told of the running node: after it started (the node), and before it stops (null).
   * The gitback daemon's fan-out hangs on it.
   */
  attach?: (node: SwarmNode | null) => void;
  /** how soon a start that failed (its port taken) is tried again (DEFAULT_SWARM_RETRY_MS) */
  retryMs?: number;
}

interface Running {
  /** shared by the node's and gossip's calls (read per call): identityChanged updates it in place */
  identity: { cert: string; key: string; ca: string };
  node: SwarmNode;
  gossip: EnvelopeNode;
  announcer: Announcer | null;
  rescan: NodeJS.Timeout;
  heldCheck: NodeJS.Timeout;
}

export class SwarmService implements AgentService {
  readonly name = 'swarm';
  private ctx: AgentContext | null = null;
  private cfg!: SwarmSection;
  private assignment: SwarmAssignment | null = null;
  private running: Running | null = null;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly clock: Clock;
  private readonly rng: Rng;

  constructor(
    private readonly config: AgentConfig,
    private readonly opts: SwarmServiceOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.rng = opts.rng ?? cryptoRng;
  }

  /**
   * The reactor swept revokes or leaves into the envelope store: envelope gossip looks at
   * the store now and sends them (its store poll is only the fallback). No-op while off.
   */
  envelopesSwept(): void {
    this.running?.gossip.poke();
  }

  /**
   * The envoy's certificate or CA bundle changed on disk (the check-in took a spanner's
   * bundle of every bolt's CA, or a move): calls made from now on trust and present what is
   * there, and the peer server's new handshakes too. Envoys of every bolt are then peers.
   */
  identityChanged(): void {
    const r = this.running;
    const ctx = this.ctx;
    if (r === null || ctx === null) return;
    try {
      const ident = readIdentity(ctx.env);
      if (ident.cert === r.identity.cert && ident.ca === r.identity.ca && ident.key === r.identity.key) return;
      Object.assign(r.identity, { cert: ident.cert, key: ident.key, ca: ident.ca });
      r.node.transport.updateIdentity(r.identity);
      ctx.log(`swarm: the peer server now trusts ${ident.ca.split('BEGIN CERTIFICATE').length - 1} CA(s) and presents the current certificate`);
    } catch (e) {
      ctx.log(`swarm: cannot take the new certificate or CA bundle: ${e instanceof Error ? e.message : String(e)}; keeping the ones in use`);
    }
  }

  /** The running node, or null while the swarm is off here. */
  get node(): SwarmNode | null {
    return this.running?.node ?? null;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.cfg = parseSwarmSection(this.config);
    parseGitbackConfig(this.config); // a bad gitback section fails here too, not at the first assignment
    if (this.assignment === null) {
      try {
        this.assignment = readSwarmAssignment(ctx.env);
      } catch (e) {
        ctx.log(`swarm: ${e instanceof Error ? e.message : String(e)}; off until the server sends an assignment`);
      }
    }
    if (this.assignment === null) ctx.log('swarm: no swarm assignment yet; the peer server starts once vigosrv enables gitback for this envoy');
    await this.reconcile();
  }

  /** A new assignment from the server: start or stop the swarm to match. */
  assign(a: SwarmAssignment): Promise<void> {
    this.assignment = a;
    return this.reconcile();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    await this.reconcile();
  }

  /** One change at a time, in the order asked. */
  private reconcile(): Promise<void> {
    const next = this.queue.then(async () => {
      const ctx = this.ctx;
      if (ctx === null) return; // not started: start() applies the assignment
      const want = !this.stopped && subsystemAllowed(this.assignment, 'gitback');
      if (want && this.running === null) await this.up(ctx);
      else if (!want && this.running !== null) await this.down(ctx, this.stopped ? 'the agent is stopping' : 'gitback is no longer enabled for this envoy');
    });
    this.queue = next.catch((e: unknown) => {
      // e.g. the port taken: the assignment still stands, so try again (not only at the next reconnect)
      const retryMs = this.opts.retryMs ?? DEFAULT_SWARM_RETRY_MS;
      this.ctx?.log(`swarm: ${e instanceof Error ? e.message : String(e)}; retrying in ${retryMs / 1000}s`);
      if (this.retry === null && !this.stopped) {
        this.retry = setTimeout(() => {
          this.retry = null;
          void this.reconcile();
        }, retryMs);
        this.retry.unref();
      }
    });
    return this.queue;
  }

  private async up(ctx: AgentContext): Promise<void> {
    const env = ctx.env;
    const log = (m: string) => ctx.log(m.startsWith('swarm') ? m : `swarm: ${m}`);
    if (!isEnrolled(env)) {
      log('gitback is enabled for this envoy, but it is not enrolled (no certificate to present); enroll it with `vigo agent enroll` and restart the agent');
      return;
    }
    const ident = readIdentity(env);
    const envoyId = envoyIdOf(new X509Certificate(ident.cert).raw);
    const identity = { cert: ident.cert, key: ident.key, ca: ident.ca };
    const i = this.cfg.listen.lastIndexOf(':');
    const listenHost = this.cfg.listen.slice(0, i) === '' ? '0.0.0.0' : this.cfg.listen.slice(0, i);
    const port = Number(this.cfg.listen.slice(i + 1));
    const host = this.cfg.announce_host ?? ident.id.hostname;
    const intervalMs = this.cfg.announce_interval_s * 1000;
    const view = new LocalGitbackView(env, parseGitbackConfig(this.config).passwd_file, this.clock, log);
    const chains = new Map<Hex, string>();
    const handles = new Map<Hex, string>();
    /** per project, the cross_subnet_members last given to `peers` (joined by newlines) */
    const crossSubnet = new Map<Hex, string>();
    const peers = new ProjectPeers({ selfHost: host, ttlMs: 3 * intervalMs, selfEnvoyId: envoyId });
    // the third discovery layer, after LAN announces and cross_subnet_members: the server's hints
    const hints = new PeerHintsReader(peerHintsFile(env), peers, log);
    // the store the reactor sweeps into and the helper daemon reads: gossip adds to it, the node's trust view reads it
    const envelopes = gossipEnvelopeStore(paths.gitbackEnvelopes(env), (pid) => view.delegations(pid), new EnvelopeCache(), log);
    const node = new SwarmNode({
      identity,
      envoyId,
      listenHost,
      port,
      base: paths.gitbackBase(env),
      projectsDir: paths.gitbackProjects(env),
      peers,
      clock: this.clock,
      rng: this.rng,
      // revocations with their envelope ids in the reason: a refused bundle or push names the revocation
      trustView: (pid) => {
        const g = gossipTrustView(envelopes, pid, this.clock.now());
        return { revocations: g.revocations, knownDelegations: g.knownDelegations ?? [], tombstoned: view.isTombstoned(pid) };
      },
      chainFor: (pid) => chains.get(pid) ?? null,
      pushBodyLimitBytes: this.cfg.push_body_limit_bytes,
      replication: { tickMs: this.cfg.catchup_interval_s * 1000 },
      log,
    });
    const gossip = new EnvelopeNode({
      transport: node.transport,
      identity,
      store: envelopes,
      peers,
      // the replicas held and the projects local users hold (joined, so in the node's store)
      projects: () => node.store.projects().map((p) => p.projectId),
      clock: this.clock,
      rng: this.rng,
      gossip: { reconcileMs: this.cfg.reconcile_interval_s * 1000, storePollMs: this.cfg.envelope_poll_s * 1000 },
      // a call hung on a peer that went away must not outlive the period it belongs to (5–30 s)
      callDeadlineMs: Math.min(DEFAULT_GOSSIP_CALL_DEADLINE_MS, Math.max(5_000, (this.cfg.reconcile_interval_s * 1000) / 2)),
      log,
    });
    node.machine.leftSubjects = (pid, nowMs) => gossip.machine.leftSubjects(pid, nowMs);
    // puddle pairing (issue 12 items 3–5): claims of offers local users opened with `vigo swarm puddle pair`
    const passwdFile = parseGitbackConfig(this.config).passwd_file;
    new PairEndpoint({
      transport: node.transport,
      selfEnvoy: envoyId,
      clock: this.clock,
      user: (name) => readPasswd(passwdFile).find((u) => u.name === name) ?? null,
      gateOpen: () => {
        try {
          return subsystemAllowed(readSwarmAssignment(env), 'puddle');
        } catch {
          return false;
        }
      },
      peerKnown: (id) => peers.knowsEnvoy(id, this.clock.now()),
      log,
    });
    // members-only bundles need a local member now, not once (the rescan below keeps `chains`)
    node.machine.localMember = (pid) => chains.has(pid);
    const bound = await node.start();
    gossip.start();
    // the fleet name map's uncontested keys, re-read at each rescan (the file read is async)
    let fleetNamedKeys: string[] = [];
    const refreshFleetNamedKeys = () => {
      readFleetNameMap(nameMapPath(env)).then(
        (m) => {
          fleetNamedKeys = m === null ? [] : Object.values(m.names).flatMap((e) => (e.status === 'ok' ? [e.pubkey] : []));
        },
        (e: unknown) => log(`the fleet name map: ${e instanceof Error ? e.message : String(e)}`),
      );
    };
    const rescan = () => {
      if (hints.load()) node.poke();
      refreshFleetNamedKeys();
      const local = view.projects();
      // a project no local user holds any more (its member left): no chain of it is presented
      const held = new Set(local.map((p) => p.projectId));
      for (const pid of [...chains.keys()]) if (!held.has(pid)) chains.delete(pid);
      // cross_subnet_members as the holding user's project.json lists them, set when they change
      for (const pid of [...crossSubnet.keys()]) {
        if (held.has(pid)) continue;
        peers.setCrossSubnetMembers(pid, []);
        crossSubnet.delete(pid);
      }
      for (const p of local) {
        const key = p.crossSubnetMembers.join('\n');
        if ((crossSubnet.get(p.projectId) ?? '') !== key) {
          crossSubnet.set(p.projectId, key);
          const bad = peers.setCrossSubnetMembers(p.projectId, p.crossSubnetMembers);
          for (const b of bad) log(`${p.handle} (${p.projectId.slice(0, 12)}…): cross_subnet_members entry ${JSON.stringify(b.entry)} skipped: ${b.reason}`);
          if (p.crossSubnetMembers.length > 0) node.poke();
        }
      }
      for (const p of local) {
        chains.set(p.projectId, p.chain);
        if (!handles.has(p.projectId)) node.join(p.projectId, p.scope);
        handles.set(p.projectId, p.handle);
      }
    };
    try {
      rescan();
    } catch (e) {
      log(`scanning local projects: ${e instanceof Error ? e.message : String(e)}; again in ${this.cfg.rescan_s}s`);
    }
    let announcer: Announcer | null = new Announcer({
      host,
      envoyId,
      peerPort: bound.port,
      ...(this.cfg.announce_interface !== undefined ? { interfaceAddress: this.cfg.announce_interface } : {}),
      group: this.cfg.announce_group,
      port: this.cfg.announce_port,
      intervalMs,
      peers,
      // a replica this envoy holds for no local user (or one whose project.json the rescan has
      // not read yet) is still announced, on the 2-field line: this envoy cannot vouch for a
      // handle it does not hold, and a made-up one would poison every peer's announced cache
      held: () =>
        node.held().map((h) => {
          const handle = handles.get(h.projectId);
          return handle === undefined ? { projectId: h.projectId, handle: null, scope: null } : { projectId: h.projectId, handle, scope: h.scope };
        }),
      cachePath: join(paths.gitbackBase(env), ANNOUNCED_CACHE_FILE),
      // the keys bound here (the users who may adopt at unlock) and the fleet's named ones
      founderCandidates: () => knownPuddleKeys(env, fleetNamedKeys),
      clock: this.clock,
      // gossip only for a peer first heard (a heal, a restart: reconciled with at once): a
      // gossip tick reads every project's envelopes, and every peer refreshes each interval
      onPeers: (fresh) => {
        node.poke();
        if (fresh) gossip.poke();
      },
      log,
    });
    try {
      await announcer.start();
    } catch (e) {
      // the peer server still serves peers named in cross_subnet_members
      log(`announcer not started on ${this.cfg.announce_group}:${this.cfg.announce_port}: ${e instanceof Error ? e.message : String(e)}; check swarm.announce_interface and the multicast route`);
      announcer.close();
      announcer = null;
    }
    const timer = setInterval(() => {
      try {
        rescan();
      } catch (e) {
        log(`rescanning local projects: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, this.cfg.rescan_s * 1000);
    timer.unref();
    // what is held changes at a rescan (a project joined) or a catch-up round (a first repo):
    // say so at once, so peers fan their next push out to this envoy (a cheap compare otherwise)
    const heldCheck = setInterval(() => {
      try {
        announcer?.announceIfChanged();
      } catch (e) {
        log(`announcing what this envoy holds: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, Math.max(1000, Math.min(HELD_CHECK_MAX_MS, this.cfg.catchup_interval_s * 1000, this.cfg.announce_interval_s * 1000)));
    heldCheck.unref();
    this.running = { identity, node, gossip, announcer, rescan: timer, heldCheck };
    // a bundle that arrived while the node started is taken now
    this.identityChanged();
    log(`peer server listening on ${listenHost}:${bound.port} as envoy ${envoyId} (${host})${announcer ? `, announcing on ${announcer.group}:${announcer.port}` : ''}; ${handles.size} local project(s)`);
    this.opts.attach?.(node);
  }

  private async down(ctx: AgentContext, why: string): Promise<void> {
    const r = this.running as Running;
    this.running = null;
    try {
      this.opts.attach?.(null);
    } finally {
      clearInterval(r.rescan);
      clearInterval(r.heldCheck);
      r.announcer?.close();
      await r.gossip.close();
      await r.node.close();
      ctx.log(`swarm: peer server and announcer stopped (${why})`);
    }
  }
}
