/**
 * The gitback part of `vigo agent run`: the helper daemon on the socket and the root
 * reactor (sweep every `sweep_interval_s`, reap after `envelope_retention_days`; after each
 * sweep the open git sessions are re-checked, so a revocation ends them).
 * Configured by agent.yaml's `gitback` section (limits: docs/gitback.md "Daemon limits"):
 *   gitback:
 *     socket: /var/run/vigo/gitback.sock      # default under VIGO_ROOT
 *     sweep_interval_s: 60
 *     envelope_retention_days: 90
 *     passwd_file: /etc/passwd
 *     max_connections: 512
 *     max_connections_per_uid: 32
 *     request_timeout_s: 5
 *     max_git_processes: 64
 *     max_git_processes_per_uid: 8
 *     idle_timeout_s: 300
 *     session_max_s: 3600
 *     receive_lock_max_s: 600
 *     receive_stall_s: 60
 *     status_cache_s: 5
 *     status_max_repos: 100
 *     status_timeout_s: 30
 *     status_per_uid_per_min: 30
 *     max_repos_per_uid: 100                  # 0: no quota
 *     replica_report_s: 3                     # the replica report's wait for acknowledgements
 *     replicas_wait_s: 30                     # the most `git push -o replicas=N` waits
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bindingsDir, delegationRecordPath } from '../binding.js';
import type { AgentContext, AgentService, AgentConfig } from '../../agent/index.js';
import { isVigoError, VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { VerifyCache } from '../../trust/index.js';
import { DEFAULT_LIMITS, GitbackDaemon, type DaemonLimits } from './server.js';
import { gitEnv } from './git.js';
import { authorize, authorizeHeld, authorizeMigrate, authorizeRetired, authorizeServiceRoot, bindUid, unbindUid } from './access.js';
import { StatusService } from './status-service.js';
import { reapOnce, sweepOnce, SweepMemory, type SweepLimits } from '../reactor.js';
import { diskStores } from '../stores/disk.js';
import type { Clock } from '../../platform/clock.js';
import type { GitbackReplicator } from '../replicator.js';

/** Limits in the config's units (seconds, counts); see DaemonLimits for what each caps. */
const LIMIT_KEYS = {
  max_connections: { to: 'maxConnections', scale: 1, int: true },
  max_connections_per_uid: { to: 'maxConnectionsPerUid', scale: 1, int: true },
  request_timeout_s: { to: 'requestTimeoutMs', scale: 1000, int: false },
  max_git_processes: { to: 'maxGitProcesses', scale: 1, int: true },
  max_git_processes_per_uid: { to: 'maxGitProcessesPerUid', scale: 1, int: true },
  idle_timeout_s: { to: 'idleTimeoutMs', scale: 1000, int: false },
  session_max_s: { to: 'sessionMaxMs', scale: 1000, int: false },
  receive_lock_max_s: { to: 'receiveLockMaxMs', scale: 1000, int: false },
  receive_stall_s: { to: 'receiveStallMs', scale: 1000, int: false },
  status_per_uid_per_min: { to: 'statusPerUidPerMinute', scale: 1, int: true },
  replica_report_s: { to: 'replicaReportMs', scale: 1000, int: false },
  replicas_wait_s: { to: 'replicasWaitMs', scale: 1000, int: false },
} as const satisfies Record<string, { to: keyof DaemonLimits; scale: number; int: boolean }>;

/** The reactor's bounds on one sweep tick (reactor.ts SweepLimits), in the config's units. */
const SWEEP_KEYS = {
  sweep_per_user: 'perUser',
  sweep_per_tick: 'perTick',
  sweep_max_tick_ms: 'maxTickMs',
  envelope_quota_per_project: 'quotaPerUserProject',
} as const satisfies Record<string, keyof SweepLimits>;

/** How soon the reactor ticks again while a bounded tick left work behind. */
const SWEEP_BACKLOG_TICK_MS = 250;

export interface GitbackConfig {
  socket: string | null;
  sweep_interval_s: number;
  envelope_retention_days: number;
  passwd_file: string;
  limits: DaemonLimits;
  sweep_limits: Partial<SweepLimits>;
  status_cache_s: number;
  status_max_repos: number;
  status_timeout_s: number;
}

const KNOWN = ['socket', 'sweep_interval_s', 'envelope_retention_days', 'passwd_file', ...Object.keys(LIMIT_KEYS), ...Object.keys(SWEEP_KEYS), 'max_repos_per_uid', 'status_cache_s', 'status_max_repos', 'status_timeout_s'];

export function parseGitbackConfig(config: AgentConfig): GitbackConfig {
  const s = config.sections.gitback ?? {};
  const out: GitbackConfig = {
    socket: null,
    sweep_interval_s: 60,
    envelope_retention_days: 90,
    passwd_file: '/etc/passwd',
    limits: { ...DEFAULT_LIMITS },
    sweep_limits: {},
    status_cache_s: 5,
    status_max_repos: 100,
    status_timeout_s: 30,
  };
  for (const [k, v] of Object.entries(s)) {
    const where = `${config.file}: gitback.${k}`;
    const positive = (int: boolean): number => {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (int && !Number.isInteger(v))) {
        throw new VigoError('E_CONFIG', `${where} must be a positive ${int ? 'integer' : 'number'}`);
      }
      return v;
    };
    if (k === 'socket' || k === 'passwd_file') {
      if (typeof v !== 'string' || v === '') throw new VigoError('E_CONFIG', `${where} must be a path`);
      out[k] = v;
    } else if (k === 'sweep_interval_s' || k === 'envelope_retention_days' || k === 'status_cache_s' || k === 'status_timeout_s') {
      out[k] = positive(false);
    } else if (k === 'status_max_repos') {
      out[k] = positive(true);
    } else if (k in LIMIT_KEYS) {
      const d = LIMIT_KEYS[k as keyof typeof LIMIT_KEYS];
      out.limits[d.to] = positive(d.int) * d.scale;
    } else if (k in SWEEP_KEYS) {
      out.sweep_limits[SWEEP_KEYS[k as keyof typeof SWEEP_KEYS]] = positive(true);
    } else if (k === 'max_repos_per_uid') {
      if (v === 0) out.limits.maxReposPerUid = null;
      else out.limits.maxReposPerUid = positive(true);
    } else {
      throw new VigoError('E_CONFIG', `${config.file}: unknown field gitback.${k}`, { hint: `known: ${KNOWN.join(', ')}` });
    }
  }
  return out;
}

/**
 * System directories: the shared parents stay traversable (users reach the socket and
 * their usercrate policy file through them); the bare repos and envelopes are root's alone.
 */
function prepareDirs(env: NodeJS.ProcessEnv): void {
  for (const d of [paths.varLib(env), paths.varRun(env), join(paths.varLib(env), 'swarm'), paths.gitbackBase(env)]) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const d of [paths.gitbackProjects(env), paths.gitbackEnvelopes(env), dirname(delegationRecordPath(env, 'x')), repoLedgerDir(env)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  // a first push interrupted by a crash leaves its set-aside repo behind: no push can resume it
  for (const n of readdirSync(paths.gitbackProjects(env))) {
    if (/^\.[0-9a-f]{64}\.git\.(first-push|init)-[0-9a-f]{8}$/.test(n)) rmSync(join(paths.gitbackProjects(env), n), { recursive: true, force: true });
  }
  // bindings are public (uid → public key); clients read their own to skip a needless bind
  mkdirSync(bindingsDir(env), { recursive: true, mode: 0o755 });
}

/** Who created which bare repo (the per-uid quota): `<uid>/<project id>` files, root's alone. */
export function repoLedgerDir(env: Env): string {
  return join(paths.gitbackBase(env), 'repo-creators');
}

export class GitbackService implements AgentService {
  readonly name = 'gitback';
  daemon: GitbackDaemon | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backlogTimer: NodeJS.Timeout | null = null;
  private replicator: GitbackReplicator | null = null;
  /** `uid pid` pairs already told to the replicator as members (the decision is not re-run each sweep) */
  private readonly members = new Set<string>();
  private readonly sweptListeners: Array<(r: { revokes: number; leaves: number }) => void> = [];

  /** `clock` decides (the access decision, the sweep's time and wall-time cap); the timers stay libuv's */
  constructor(
    private readonly cfg: GitbackConfig,
    private readonly clock: Clock,
  ) {}

  /**
   * The swarm's replication for pushes on this envoy (src/swarm/replicator.ts over a
   * running SwarmNode), or null while the envoy has no swarm assignment. Any time, before
   * or after start.
   */
  /**
   * Called right after a sweep persisted revokes or leaves into the envelope store (the
   * agent glue pokes the swarm's envelope gossip with it, so they leave at once rather than
   * at the gossip's next store poll). Listeners must not throw; one that does is logged.
   */
  onEnvelopesSwept(cb: (r: { revokes: number; leaves: number }) => void): void {
    this.sweptListeners.push(cb);
  }

  setReplicator(r: GitbackReplicator | null): void {
    this.replicator = r;
    this.members.clear();
    this.daemon?.setReplicator(r);
  }

  async start(ctx: AgentContext): Promise<void> {
    const env = ctx.env;
    const clock = this.clock;
    const cache = new VerifyCache();
    const socketPath = this.cfg.socket ?? paths.gitbackSocket(env);
    const passwdFile = this.cfg.passwd_file;
    const log = (m: string) => ctx.log(`gitback: ${m}`);
    // one set of stores and one sweep memory for the daemon's life: the envelope cache is
    // shared by the access decision and the sweep
    const stores = diskStores(env, passwdFile, log);
    const memory = new SweepMemory();
    const access = { env, stores, clock, log, cache };
    prepareDirs(env);
    const statusService = new StatusService({
      env,
      passwdFile,
      cacheMs: this.cfg.status_cache_s * 1000,
      maxRepos: this.cfg.status_max_repos,
      maxEntries: 200_000,
      timeoutMs: this.cfg.status_timeout_s * 1000,
      log,
      clock,
    });
    const daemon = new GitbackDaemon({
      socketPath,
      log,
      limits: this.cfg.limits,
      repoLedgerDir: repoLedgerDir(env),
      clock,
      gitEnv: gitEnv(env),
      authorize: (cred, req) => authorize(access, cred, req),
      authorizeMigrate: (cred, req) => authorizeMigrate(access, cred, req),
      authorizeRetired: (cred, req) => authorizeRetired(access, cred, req.project_id),
      // root's file:// push into the stacks project, signed by the service-account puddle
      authorizeReplicate: (cred, req) => Promise.resolve().then(() => authorizeServiceRoot(access, cred, req.project_id)),
      bind: (cred, challenge, proof) => bindUid(access, cred, challenge, proof),
      unbind: (cred) => unbindUid(access, cred),
      // root sees every user's state; anyone else gets the same envoy-wide figures
      // (counts and sizes only — no user's files are disclosed beyond that)
      status: () => statusService.get(),
      seqDir: pushSeqDir(env),
    });
    daemon.setReplicator(this.replicator);
    this.daemon = daemon;
    // the cache only absorbs floods: what this daemon itself changed shows at once
    daemon.on('receiving', () => statusService.invalidate());
    daemon.on('refs-changed', () => statusService.invalidate());
    await daemon.listen();
    log(`helper daemon listening on ${socketPath}`);
    const tick = () => {
      if (this.backlogTimer) clearTimeout(this.backlogTimer);
      this.backlogTimer = null;
      try {
        // bounded per user and per tick (sweepOnce is synchronous, so ticks never overlap)
        const r = sweepOnce({ stores, clock, log, limits: this.cfg.sweep_limits, memory, cache: stores.envelopes.cache.verifyCache });
        if (r.revokes + r.leaves + r.tombstones > 0) statusService.invalidate();
        this.noteMembers(access, r.held, log);
        if (r.revokes + r.leaves + r.rejected + r.tombstones > 0) log(`sweep: ${r.revokes} revoke(s), ${r.leaves} leave(s), ${r.tombstones} tombstone(s), ${r.rejected} rejected${r.more ? ' (more queued)' : ''}`);
        if (r.revokes + r.leaves > 0) {
          for (const cb of this.sweptListeners) {
            try {
              cb({ revokes: r.revokes, leaves: r.leaves });
            } catch (e) {
              log(`sweep: a listener failed: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        }
        reapOnce(env, clock.now(), this.cfg.envelope_retention_days * 86400, log);
        // work left behind by the bounds goes on soon, not a whole interval later
        if (r.more && this.timer) this.backlogTimer = setTimeout(tick, SWEEP_BACKLOG_TICK_MS);
      } catch (e) {
        log(`sweep failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      // a revocation (or tombstone) just swept ends the sessions it refuses, not only new ones
      daemon.revalidateSessions().then(
        (n) => {
          if (n > 0) log(`sweep: ended ${n} open session(s) the access check now refuses`);
        },
        (e: unknown) => log(`revalidating sessions failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    };
    this.timer = setInterval(tick, this.cfg.sweep_interval_s * 1000);
    tick();
  }

  /**
   * A local user who holds a project (its chain verifies for the key bound to its uid) makes
   * this envoy a member for replication: it accepts members-only bundles and DR-fetches the
   * repo, without waiting for that user's first git operation here.
   */
  private noteMembers(access: Parameters<typeof authorizeHeld>[0], held: Array<{ uid: number; projectId: string }>, log: (m: string) => void): void {
    const r = this.replicator;
    if (r === null) return;
    for (const h of held) {
      const key = `${h.uid} ${h.projectId}`;
      if (this.members.has(key)) continue;
      try {
        // uid 0's state may be the service root's (the ops-puddle dir's stacks project), not root's home
        const g = h.uid === 0 && access.stores.users.serviceRoot() !== null ? heldByRootOrService(access, h.projectId) : authorizeHeld(access, h.uid, h.projectId);
        if (g.pusher !== undefined) r.member(h.projectId, g.pusher.scope);
        this.members.add(key);
      } catch (e) {
        // a user whose state does not verify here (unbound yet, revoked, copied files) holds nothing for replication
        if (!isVigoError(e)) log(`replication: cannot check uid ${h.uid}'s ${h.projectId.slice(0, 12)}…: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.backlogTimer) clearTimeout(this.backlogTimer);
    this.timer = null;
    this.backlogTimer = null;
    await this.daemon?.close();
    this.daemon = null;
  }
}

/** uid 0's held project: as root's own state, else as the service root's. */
function heldByRootOrService(access: Parameters<typeof authorizeHeld>[0], projectId: string): ReturnType<typeof authorizeHeld> {
  try {
    return authorizeHeld(access, 0, projectId);
  } catch {
    return authorizeServiceRoot(access, { uid: 0, gid: 0, pid: 0 }, projectId);
  }
}

/** The per-pusher sequence files of the manifests signed on this envoy (root's alone). */
export function pushSeqDir(env: Env): string {
  return join(paths.gitbackBase(env), 'push-seq');
}

export function gitbackService(config: AgentConfig, clock: Clock): GitbackService {
  return new GitbackService(parseGitbackConfig(config), clock);
}
