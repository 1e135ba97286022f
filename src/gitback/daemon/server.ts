/**
 * The gitback helper daemon's socket server. Every accepted connection is attributed to
 * the uid the KERNEL reports (SO_PEERCRED); the request line only names a service and a
 * project. Access is decided by `authorize` (which loads that uid's own state); the daemon
 * then proxies the socket to git upload-pack / receive-pack on the bare repo. Receives on
 * one project are serialised, with the refs snapshotted before and after each, so a
 * racing push sees the winner's refs and fails cleanly as a non-fast-forward, and the
 * fan-out hook gets an exact delta.
 *
 * Any local user can connect, so every resource a connection can hold is capped (see
 * DaemonLimits and docs/gitback.md "Daemon limits"): connections (global and per uid),
 * the time to the first line, git processes (global and per uid), a session's lifetime,
 * the receive lock's hold time and stalls under it, status requests per uid, and the bare
 * repos one uid may create. A refusal is one JSON line naming the limit, then the close.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { peerCred as kernelPeerCred, type PeerCred } from '../../platform/peercred.js';
import { isVigoError, VigoError } from '../../platform/errors.js';
import { writeFileAtomic } from '../../platform/atomic.js';
import { cryptoRng, type Clock, type Rng } from '../../platform/clock.js';
import { toHex } from '../../trust/index.js';
import { encodeLine, MAX_SIGNED_LINE_BYTES, parseBindProofLine, parsePushSignedLine, parseRequest, readLine, retiredEntries, type DaemonRequest, type DaemonResponse } from './protocol.js';
import { buildManifest, checkSigned, PendingPushes, type Pusher, type PushOutcome } from './push-manifest.js';
import { manifestId } from '../../wire/gitback-manifest.js';
import type { GitbackReplicator } from '../replicator.js';
import type { RevocationSet } from '../../trust/index.js';
import { uidSocketDir, uidSocketPath } from './uid-socket.js';
import { createPendingRepo, diffRefs, ensureBareRepo, fixHead, gitAsync, spawnService, type RefChange, type RefSnapshot } from './git.js';
import { GitRefStore } from '../stores/disk.js';
import type { RefStore } from '../stores/stores.js';

export type ConnectRequest = Extract<DaemonRequest, { op: 'connect' }>;
export type MigrateRequest = Extract<DaemonRequest, { op: 'migrate' }>;
export type RetiredRequest = Extract<DaemonRequest, { op: 'retired' }>;
export type ReplicateRequest = Extract<DaemonRequest, { op: 'replicate' }>;

/** What one local user (or all of them) may hold of the daemon. Times in ms. */
export interface DaemonLimits {
  maxConnections: number;
  maxConnectionsPerUid: number;
  /** from accept to the complete request line (and to a bind proof line) */
  requestTimeoutMs: number;
  maxGitProcesses: number;
  maxGitProcessesPerUid: number;
  /** a proxied git session with no traffic for this long is ended */
  idleTimeoutMs: number;
  /** a git session (waiting for the receive lock included) is ended after this long */
  sessionMaxMs: number;
  /** the receive lock is taken from a session that held it this long */
  receiveLockMaxMs: number;
  /** …or that moved no byte, either way, for this long while holding it */
  receiveStallMs: number;
  /** status requests per uid per minute (the answer itself is cached, see service.ts) */
  statusPerUidPerMinute: number;
  /** bare repos one uid may create on this envoy (null: no quota) */
  maxReposPerUid: number | null;
  /** the replica report after a push waits this long for the peers' acknowledgements */
  replicaReportMs: number;
  /** `git push -o replicas=N` waits at most this long for N acknowledgements */
  replicasWaitMs: number;
}

export const DEFAULT_LIMITS: DaemonLimits = {
  maxConnections: 512,
  maxConnectionsPerUid: 32,
  requestTimeoutMs: 5_000,
  maxGitProcesses: 64,
  maxGitProcessesPerUid: 8,
  idleTimeoutMs: 300_000,
  sessionMaxMs: 3_600_000,
  receiveLockMaxMs: 600_000,
  receiveStallMs: 60_000,
  statusPerUidPerMinute: 30,
  maxReposPerUid: 100,
  replicaReportMs: 3_000,
  replicasWaitMs: 30_000,
};

const LISTEN_BACKLOG = 4096;
/** a uid's own socket: its honest load is its connection cap; a deeper queue only holds its own flood */
const UID_BACKLOG = 256;
/** per-uid sockets at most (one per local uid that ever connected); past it, the shared socket only */
const MAX_UID_SOCKETS = 4096;

export interface Grant {
  /** absolute path of the bare repo */
  repo: string;
  projectId: string;
  /** for logs and the fan-out hook: who, by their verified chain */
  user: string;
  role: string;
  /** who presented (key, chain, the project's scope): the manifest of a push is signed by this key */
  pusher?: Pusher;
}

export interface RefsChangedEvent {
  projectId: string;
  repo: string;
  uid: number;
  user: string;
  before: RefSnapshot;
  after: RefSnapshot;
  changes: RefChange[];
}

export interface DaemonOptions {
  socketPath: string;
  /** throws a VigoError to refuse; never trusts anything but `cred` for identity */
  authorize(cred: PeerCred, req: ConnectRequest): Promise<Grant>;
  status(cred: PeerCred): Promise<unknown>;
  /** for re-found / reanchor: grants for both projects, or throws */
  authorizeMigrate(cred: PeerCred, req: MigrateRequest): Promise<{ from: Grant; to: Grant }>;
  /** for re-invite-all / re-found: the project's standing revokes and leaves, to a caller holding verifying state for it, or throws */
  authorizeRetired(cred: PeerCred, req: RetiredRequest): Promise<RevocationSet>;
  /**
   * root's `replicate`: the grant (with its pusher) of the project as the service-account
   * state root holds it, or throws. Without it, replicate is E_UNSUPPORTED.
   */
  authorizeReplicate?(cred: PeerCred, req: ReplicateRequest): Promise<Grant>;
  /**
   * uid binding: checks the proof (a BindProofLine's `proof`) against the kernel's uid and
   * the challenge this connection was given, and records it; throws a VigoError to refuse.
   */
  bind(cred: PeerCred, challenge: string, proof: unknown): Promise<unknown>;
  /**
   * `puddle leave`: drops the binding of the kernel's uid (only its own: nothing in the
   * request names a uid); answers what was removed. Without it, unbind is E_UNSUPPORTED.
   */
  unbind?(cred: PeerCred): Promise<unknown>;
  log(msg: string): void;
  /** defaults to the real SO_PEERCRED lookup */
  peerCred?: (sock: Socket) => PeerCred;
  /** any subset; the rest are DEFAULT_LIMITS */
  limits?: Partial<DaemonLimits>;
  /**
   * Root-owned directory recording which uid created which bare repo (`<uid>/<pid>`,
   * holding the repo's path), for the per-uid repo quota. Without it there is no quota.
   */
  repoLedgerDir?: string;
  /** decides the status and bind token buckets and the receive-stall check (deadlines stay libuv timers) */
  clock: Clock;
  /** the bind challenges; a secret, so cryptoRng unless a test replays one */
  rng?: Rng;
  /** what every git process inherits (a gitEnv() built from the entry point's PATH and HOME) */
  gitEnv: NodeJS.ProcessEnv;
  /** the bare repos' refs, snapshotted around each receive; defaults to git itself under gitEnv */
  refs?: RefStore;
  /** root's directory of per-pusher sequence files (`<pusher key>`: the last seq used); needed to replicate */
  seqDir?: string;
}

/** One open git session (connect op), from authorization to close. */
interface Session {
  cred: PeerCred;
  req: ConnectRequest;
  sock: Socket;
  child: ChildProcess | null;
  /** a push's id for its manifest exchange (null: a fetch) */
  pushId: string | null;
  /** the ok answer was sent (a push gets it before it queues for the receive lock) */
  answered: boolean;
  /** git runs: the socket is now git's pack protocol */
  piping: boolean;
  ended: boolean;
}

/** Counts per uid, dropping zeroes so the map only holds uids with something open. */
class PerUid {
  private readonly m = new Map<number, number>();
  total = 0;
  get(uid: number): number {
    return this.m.get(uid) ?? 0;
  }
  inc(uid: number): void {
    this.m.set(uid, this.get(uid) + 1);
    this.total++;
  }
  dec(uid: number): void {
    const n = this.get(uid) - 1;
    if (n > 0) this.m.set(uid, n);
    else this.m.delete(uid);
    this.total--;
  }
}

function pktLine(payload: string): string {
  return (Buffer.byteLength(payload) + 4).toString(16).padStart(4, '0') + payload;
}

/**
 * The last words of a session, in what the git client is reading at that point: a fetch
 * client reads pkt-lines (an `ERR` packet: "fatal: remote error: <msg>"); a push client,
 * once it sent its commands, reads side-band (band 3, the fatal-error channel: "remote:
 * <msg>"). Either way the reason reaches the user instead of a bare hang-up.
 */
function lastWords(service: string, msg: string): string {
  const text = msg.slice(0, 2000);
  return service === 'git-receive-pack' ? pktLine(`\x03${text}\n`) : pktLine(`ERR ${text}\n`);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** 'receiving': a push was answered and may change refs any moment (status caches drop) */
export class GitbackDaemon extends EventEmitter<{ 'refs-changed': [RefsChangedEvent]; receiving: [string] }> {
  readonly limits: DaemonLimits;
  private server: Server | null = null;
  /** uid → the listener on that uid's own socket (a failed one stays, so it is not retried) */
  private readonly uidServers = new Map<number, Server>();
  /** where the per-uid sockets go; null: none (the directory could not be made safe) */
  private uidDir: string | null = null;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly sockets = new Set<Socket>();
  private readonly conns = new PerUid();
  private readonly gits = new PerUid();
  private readonly sessions = new Set<Session>();
  /** per-uid token buckets for status: tokens left, and when they were last refilled */
  private readonly statusBuckets = new Map<number, { tokens: number; at: number }>();
  /** the same for binds: each reads the passwd file, the usercrate gate and the user's key, and writes a binding */
  private readonly bindBuckets = new Map<number, { tokens: number; at: number }>();
  /** cap refusals by `uid code`, counted between log lines (a flood must not flood the log) */
  private readonly refusals = new Map<string, number>();
  private refusalTimer: NodeJS.Timeout | null = null;
  /** capRefusal's lines, by `uid E_BUSY uid|all` (dropped at each flush) */
  private readonly capLines = new Map<string, string>();

  private readonly refs: RefStore;
  /** the swarm's replication while this envoy has a swarm assignment (null: pushes stay here, nothing is reported) */
  private replicator: GitbackReplicator | null = null;
  private readonly pushes: PendingPushes;

  constructor(private readonly opts: DaemonOptions) {
    super();
    this.pushes = new PendingPushes(opts.log);
    this.limits = { ...DEFAULT_LIMITS, ...(opts.limits ?? {}) };
    this.refs = opts.refs ?? new GitRefStore(opts.gitEnv);
  }

  async listen(): Promise<void> {
    const path = this.opts.socketPath;
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (existsSync(path)) {
      // a live daemon answers; only a stale socket from an earlier run is removed
      if (await answers(path)) {
        throw new VigoError('E_DAEMON_RUNNING', `another gitback helper daemon is already listening on ${path}`, { hint: 'stop the other agent first' });
      }
      unlinkSync(path);
    }
    const server = createServer({ allowHalfOpen: true }, (sock) => void this.handle(sock));
    // a backstop under our own refusals: never more sockets than the cap and the refusals in flight
    server.maxConnections = this.limits.maxConnections + 256;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // a deep accept queue (the kernel caps it at net.core.somaxconn): a local connect
      // flood fills it before our per-uid refusals can drain it, and clients then get EAGAIN
      server.listen({ path, backlog: LISTEN_BACKLOG }, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    // Anyone may connect; who they are and what they may do is decided per connection.
    chmodSync(path, 0o666);
    this.server = server;
    this.uidDir = this.prepareUidDir();
    this.markReplicating();
    this.refusalTimer = setInterval(() => this.flushRefusals(), 60_000);
    this.refusalTimer.unref();
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (this.refusalTimer) clearInterval(this.refusalTimer);
    this.flushRefusals();
    for (const sock of this.sockets) sock.destroy();
    const uidServers = [...this.uidServers.values()];
    this.uidServers.clear();
    // closing a listener unlinks its socket file (libuv), so no stale per-uid socket stays
    await Promise.all(uidServers.map((u) => new Promise<void>((r) => (u.listening ? u.close(() => r()) : r()))));
    if (s) await new Promise<void>((r) => s.close(() => r()));
    rmSync(replicatingMarker(this.opts.socketPath), { force: true });
    try {
      unlinkSync(this.opts.socketPath);
    } catch {
      /* gone already */
    }
  }

  /**
   * The per-uid sockets' directory, root-owned 0711 (users reach their own socket by name,
   * list nothing, create nothing), emptied of an earlier run's sockets. Anything unsafe
   * there (not a directory, a symlink, another owner) turns per-uid sockets off: the
   * shared socket still serves everyone.
   */
  private prepareUidDir(): string | null {
    const dir = uidSocketDir(this.opts.socketPath);
    const me = process.geteuid?.() ?? 0;
    try {
      for (const [d, mode] of [
        [dirname(dir), 0o755],
        [dir, 0o711],
      ] as const) {
        if (!existsSync(d)) mkdirSync(d, { mode });
        const st = lstatSync(d);
        if (!st.isDirectory() || st.uid !== me) throw new Error(`${d} is not a directory owned by uid ${me}`);
        chmodSync(d, mode);
      }
      for (const name of readdirSync(dir)) if (name.endsWith('.sock')) unlinkSync(join(dir, name));
      return dir;
    } catch (e) {
      this.opts.log(`per-uid sockets are off (every user shares ${this.opts.socketPath}): ${e instanceof Error ? e.message : String(e)}; remove ${dirname(dir)} and restart the agent`);
      return null;
    }
  }

  /**
   * Opens uid's own socket (once) after its first connection on the shared one: that
   * uid's clients connect there first, so a flood by anyone else queues elsewhere. Made
   * 0600 before it is chowned to uid; the daemon checks every peer's uid against it anyway.
   */
  private ensureUidSocket(uid: number): void {
    if (this.uidDir === null || this.server === null || this.uidServers.has(uid) || this.uidServers.size >= MAX_UID_SOCKETS) return;
    const path = uidSocketPath(this.opts.socketPath, uid);
    const server = createServer({ allowHalfOpen: true }, (sock) => void this.handle(sock, uid));
    server.maxConnections = this.limits.maxConnectionsPerUid + 256;
    this.uidServers.set(uid, server);
    server.once('error', (e) => this.opts.log(`uid ${uid}: cannot open its own socket ${path} (it keeps using the shared one): ${e.message}`));
    try {
      unlinkSync(path);
    } catch {
      /* none there: the usual case */
    }
    server.listen({ path, backlog: UID_BACKLOG }, () => {
      try {
        chmodSync(path, 0o600);
        chownSync(path, uid, process.getegid?.() ?? 0);
      } catch (e) {
        this.opts.log(`uid ${uid}: cannot hand over its own socket ${path}: ${e instanceof Error ? e.message : String(e)}`);
        server.close();
      }
    });
  }

  /**
   * The refusal line for a connection over the connection cap, built (and logged) once per
   * uid between log flushes: this is the path a connect flood takes, so it allocates no
   * error object and formats nothing per connection.
   */
  private capRefusal(uid: number, mine: boolean): string {
    const key = `${uid} E_BUSY ${mine ? 'uid' : 'all'}`;
    const cached = this.capLines.get(key);
    if (cached !== undefined) {
      this.refusals.set(`${uid} E_BUSY`, (this.refusals.get(`${uid} E_BUSY`) ?? 0) + 1);
      return cached;
    }
    const L = this.limits;
    const e = new VigoError(
      'E_BUSY',
      mine
        ? `the gitback helper daemon is at its cap of ${L.maxConnectionsPerUid} open connections for uid ${uid}`
        : `the gitback helper daemon is at its cap of ${L.maxConnections} open connections`,
      { hint: mine ? 'close some of your gitback connections (git processes) and retry' : 'retry in a moment; if it persists, ask the operator (gitback.max_connections)' },
    );
    this.noteRefusal(uid, e);
    const line = encodeLine(errorResponse(e));
    this.capLines.set(key, line);
    return line;
  }

  /**
   * Logs the first refusal of a kind (uid + code) at once, then only a count a minute:
   * a flood of refused connects would otherwise write one log line each.
   */
  private noteRefusal(uid: number, e: VigoError): void {
    const key = `${uid} ${e.code}`;
    const n = this.refusals.get(key);
    if (n === undefined) this.opts.log(`uid ${uid}: refused: ${e.code} ${e.message} (more of these are counted once a minute)`);
    this.refusals.set(key, (n ?? 0) + (n === undefined ? 0 : 1));
  }

  private flushRefusals(): void {
    this.capLines.clear();
    for (const [key, n] of this.refusals) {
      const [uid, code] = key.split(' ');
      if (n > 0) {
        this.opts.log(`uid ${uid}: ${n} more ${code} refusal(s) in the last minute`);
        this.refusals.set(key, 0);
      } else this.refusals.delete(key);
    }
  }

  /** Set (or, with null, drop) the replication a push hands its change to. */
  setReplicator(r: GitbackReplicator | null): void {
    this.replicator = r;
    this.markReplicating();
  }

  /**
   * `<socket dir>/gitback/replicating` exists while pushes replicate: the native tunnel
   * then leaves pushes to the program (which signs the manifest). A hint, never trusted.
   */
  private markReplicating(): void {
    if (this.uidDir === null || this.server === null) return;
    const f = replicatingMarker(this.opts.socketPath);
    try {
      if (this.replicator !== null) writeFileSync(f, '', { mode: 0o644 });
      else rmSync(f, { force: true });
    } catch (e) {
      this.opts.log(`cannot ${this.replicator !== null ? 'write' : 'remove'} ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** What is open right now, for logs and tests. */
  usage(): { connections: number; gitProcesses: number; sessions: number } {
    return { connections: this.conns.total, gitProcesses: this.gits.total, sessions: this.sessions.size };
  }

  /**
   * Re-runs the access decision for every open git session and ends those it now refuses
   * (a revoked token, a tombstone, a removed user): the client gets the refusal as a git
   * error. Called after each reactor sweep. Returns how many sessions were ended.
   */
  async revalidateSessions(): Promise<number> {
    let ended = 0;
    for (const s of [...this.sessions]) {
      if (s.ended) continue;
      try {
        await this.opts.authorize(s.cred, s.req);
      } catch (e) {
        if (!isVigoError(e)) {
          this.opts.log(`uid ${s.cred.uid}: revalidating a session failed: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        this.endSession(s, e);
        ended++;
      }
    }
    return ended;
  }

  /** owner: the uid whose own socket accepted sock (undefined: the shared socket) */
  private async handle(sock: Socket, owner?: number): Promise<void> {
    sock.on('error', () => undefined);
    let cred: PeerCred;
    try {
      cred = (this.opts.peerCred ?? kernelPeerCred)(sock);
    } catch (e) {
      this.opts.log(`refusing a connection: ${e instanceof Error ? e.message : String(e)}`);
      sock.destroy();
      return;
    }
    if (owner === undefined) this.ensureUidSocket(cred.uid);
    else if (cred.uid !== owner) {
      // only root can open another uid's socket; the kernel's uid is still the identity
      const e = new VigoError('E_WRONG_SOCKET', `this socket is uid ${owner}'s own; uid ${cred.uid} connects to ${this.opts.socketPath}`, { hint: `use ${this.opts.socketPath}` });
      this.noteRefusal(cred.uid, e);
      refuseNow(sock, e);
      return;
    }
    const L = this.limits;
    if (this.conns.total >= L.maxConnections || this.conns.get(cred.uid) >= L.maxConnectionsPerUid) {
      const line = this.capRefusal(cred.uid, this.conns.get(cred.uid) >= L.maxConnectionsPerUid);
      sock.end(line, () => sock.destroy());
      return;
    }
    this.sockets.add(sock);
    this.conns.inc(cred.uid);
    sock.once('close', () => {
      this.sockets.delete(sock);
      this.conns.dec(cred.uid);
    });
    const timer = setTimeout(() => refuseNow(sock, new VigoError('E_TIMEOUT', `no complete request line within ${seconds(L.requestTimeoutMs)}`)), L.requestTimeoutMs);
    let req: DaemonRequest;
    let rest: Buffer;
    try {
      const r = await readLine(sock);
      clearTimeout(timer);
      rest = r.rest;
      req = parseRequest(r.line);
    } catch (e) {
      clearTimeout(timer);
      this.reply(sock, errorResponse(e), true);
      return;
    }
    let failLate: ((e: VigoError) => void) | null = null;
    try {
      if (req.op === 'status') {
        this.takeToken(this.statusBuckets, cred.uid, 'status');
        this.reply(sock, { ok: true, status: await this.opts.status(cred) }, true);
        return;
      }
      if (req.op === 'retired') {
        // costs an access decision and a store read: the status bucket bounds it per uid
        this.takeToken(this.statusBuckets, cred.uid, 'status');
        const set = await this.opts.authorizeRetired(cred, req);
        this.reply(sock, { ok: true, status: { retired: retiredEntries(set) } }, true);
        return;
      }
      if (req.op === 'bind') {
        // a user binds once per key (puddle unlock, register): a flood of binds is not a user
        this.takeToken(this.bindBuckets, cred.uid, 'bind');
        await this.bindExchange(sock, cred, rest);
        return;
      }
      if (req.op === 'unbind') {
        // shares the bind bucket: a flood of unbinds is not a user either
        this.takeToken(this.bindBuckets, cred.uid, 'bind');
        if (this.opts.unbind === undefined) throw new VigoError('E_UNSUPPORTED', 'this helper daemon does not remove bindings', { hint: 'root removes the binding file' });
        this.reply(sock, { ok: true, status: await this.opts.unbind(cred) }, true);
        return;
      }
      if (req.op === 'push-manifest') {
        await this.manifestExchange(sock, cred, req.push_id, rest);
        return;
      }
      if (req.op === 'replicate') {
        // the kernel's uid 0 only: what it hands over is signed by the service-account puddle
        if (cred.uid !== 0) throw new VigoError('E_ROOT_ONLY', `replicate is root's (uid ${cred.uid} asked)`, { hint: 'a push of yours replicates through gitback:// (git-remote-gitback) on its own' });
        if (this.opts.authorizeReplicate === undefined) throw new VigoError('E_UNSUPPORTED', 'this helper daemon does not replicate file:// pushes');
        if (rest.length > 0) throw new VigoError('E_BAD_REQUEST', 'bad request: data after the replicate request, before its answer');
        const grant = await this.opts.authorizeReplicate(cred, req);
        await this.signedExchange(sock, cred, await this.replicateOutcome(grant));
        return;
      }
      if (req.op === 'migrate') {
        const g = await this.opts.authorizeMigrate(cred, req);
        const refs = await this.migrate(cred, g.from, g.to);
        this.reply(sock, { ok: true, status: { refs } }, true);
        return;
      }
      // A git client waits for our answer with its side open; one that already closed it
      // is gone (a killed flood leaves thousands queued): no access decision, no git for it
      if (sock.readableEnded) {
        sock.destroy();
        return;
      }
      // refuse a uid at its git cap before the (costly) access decision: a flood of
      // connects must cost the daemon almost nothing per connection
      this.checkGitSlot(cred.uid);
      const grant = await this.opts.authorize(cred, req);
      try {
        if (grant.pusher !== undefined) this.replicator?.member(grant.projectId, grant.pusher.scope);
      } catch (e) {
        this.opts.log(`replication: cannot record ${grant.projectId.slice(0, 12)}… as held here: ${e instanceof Error ? e.message : String(e)}`);
      }
      // a push id only where pushes replicate: elsewhere the answer stays exactly {"ok":true} (the tunnel's fast path)
      const pushId = req.service === 'git-receive-pack' && this.replicator !== null ? toHex((this.opts.rng ?? cryptoRng).bytes(16)) : null;
      const session: Session = { cred, req, sock, pushId, child: null, answered: false, piping: false, ended: false };
      failLate = (e) => this.endSession(session, e);
      this.sessions.add(session);
      const deadline = setTimeout(
        () => this.endSession(session, new VigoError('E_SESSION_DEADLINE', `${req.service} session ended: it passed the ${seconds(L.sessionMaxMs)} limit (gitback.session_max_s)`)),
        L.sessionMaxMs,
      );
      sock.once('close', () => {
        clearTimeout(deadline);
        this.sessions.delete(session);
      });
      await this.proxy(session, grant, rest);
    } catch (e) {
      if (!isVigoError(e)) this.opts.log(`uid ${cred.uid}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      else if (e.code === 'E_BUSY' || e.code === 'E_RATE_LIMITED') this.noteRefusal(cred.uid, e);
      else this.opts.log(`uid ${cred.uid}: refused ${req.op === 'connect' ? `${req.service} ${req.project_id.slice(0, 12)}…` : req.op}: ${e.code} ${e.message}`);
      // once answered, the client reads git's protocol: the refusal must come in its terms
      if (failLate !== null && isVigoError(e)) failLate(e);
      else if (!sock.destroyed) this.reply(sock, errorResponse(e), true);
    }
  }

  /**
   * Per-uid token bucket: statusPerUidPerMinute requests, refilled continuously. `what`
   * names the bucket's requests (status and retired share one; binds have their own).
   */
  private takeToken(buckets: Map<number, { tokens: number; at: number }>, uid: number, what: string): void {
    const cap = this.limits.statusPerUidPerMinute;
    const now = this.opts.clock.now();
    const b = buckets.get(uid) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 60_000) * cap);
    b.at = now;
    if (b.tokens < 1) {
      buckets.set(uid, b);
      throw new VigoError('E_RATE_LIMITED', `too many ${what} requests from uid ${uid} (limit ${cap} a minute, gitback.status_per_uid_per_min)`, { hint: 'retry in a few seconds' });
    }
    b.tokens -= 1;
    if (b.tokens >= cap - 1 && buckets.size > 4096) buckets.clear();
    buckets.set(uid, b);
  }

  /** A git process slot for uid, or E_BUSY; the returned function gives it back (once). */
  private takeGitSlot(uid: number): () => void {
    this.checkGitSlot(uid);
    this.gits.inc(uid);
    let given = false;
    return () => {
      if (!given) this.gits.dec(uid);
      given = true;
    };
  }

  /** E_BUSY when uid (or everyone) is at the git-process cap. */
  private checkGitSlot(uid: number): void {
    const L = this.limits;
    if (this.gits.get(uid) >= L.maxGitProcessesPerUid) {
      throw new VigoError('E_BUSY', `you (uid ${uid}) already run ${L.maxGitProcessesPerUid} git processes through the gitback helper daemon (gitback.max_git_processes_per_uid)`, {
        hint: 'wait for some of your git operations to finish, then retry',
      });
    }
    if (this.gits.total >= L.maxGitProcesses) {
      throw new VigoError('E_BUSY', `the gitback helper daemon runs its cap of ${L.maxGitProcesses} git processes (gitback.max_git_processes)`, { hint: 'retry in a moment' });
    }
  }

  /**
   * Ends a session with a reason the git client shows: a refusal line while it still
   * waits for the daemon's answer, else a pkt-line ERR after the git process is stopped
   * (SIGTERM first, so git removes its ref lock files).
   */
  private endSession(s: Session, e: VigoError): void {
    if (s.ended || s.sock.destroyed) return;
    s.ended = true;
    this.opts.log(`uid ${s.cred.uid}: ending ${s.req.service} session on ${s.req.project_id.slice(0, 12)}…: ${e.code} ${e.message}`);
    const text = `gitback: ${e.message.includes(`(${e.code})`) ? e.message : `${e.message} (${e.code})`}${e.hint ? `; ${e.hint}` : ''}`;
    if (!s.answered) {
      refuseNow(s.sock, e);
      return;
    }
    if (!s.piping) {
      // answered, git not started: the client waits for git's first pkt-line, and an
      // ERR packet there is what git shows as "fatal: remote error: <msg>"
      s.sock.end(pktLine(`ERR ${text.slice(0, 2000)}\n`), () => s.sock.destroy());
      return;
    }
    const child = s.child;
    if (child) {
      child.stdout?.unpipe(s.sock);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        setTimeout(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }, 5_000).unref();
      }
    }
    s.sock.end(lastWords(s.req.service, text));
    s.sock.once('finish', () => s.sock.destroy());
    setTimeout(() => s.sock.destroy(), 2_000).unref();
  }

  /**
   * Proof of possession: a fresh challenge for this connection only, then one proof line.
   * The challenge never leaves this function, so a proof cannot be replayed on another
   * connection (or by another uid).
   */
  private async bindExchange(sock: Socket, cred: PeerCred, rest: Buffer): Promise<void> {
    if (rest.length > 0) throw new VigoError('E_BAD_REQUEST', 'bad request: data after the bind request, before the challenge');
    const challenge = toHex((this.opts.rng ?? cryptoRng).bytes(32));
    this.reply(sock, { ok: true, status: { challenge, uid: cred.uid } }, false);
    // signing goes through the user's puddle session: a little more time than a request line
    const ms = Math.max(this.limits.requestTimeoutMs, 15_000);
    const timer = setTimeout(() => refuseNow(sock, new VigoError('E_TIMEOUT', `no bind proof within ${seconds(ms)}`)), ms);
    let line: string;
    try {
      line = (await readLine(sock)).line;
    } finally {
      clearTimeout(timer);
    }
    const result = await this.opts.bind(cred, challenge, parseBindProofLine(line).proof);
    this.reply(sock, { ok: true, status: result }, true);
  }

  private reply(sock: Socket, resp: DaemonResponse, end: boolean): void {
    if (sock.destroyed) return;
    if (!end) {
      sock.write(encodeLine(resp));
      return;
    }
    // the client may never close its side: the answer is in its receive queue, so close ours
    sock.end(encodeLine(resp));
    sock.once('finish', () => setTimeout(() => sock.destroy(), 1_000).unref());
  }

  /** Runs fn while holding the project's receive lock (FIFO). */
  private async withLock<T>(projectId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(projectId) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.locks.set(projectId, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.locks.get(projectId) === tail) this.locks.delete(projectId);
    }
  }

  private async proxy(s: Session, grant: Grant, rest: Buffer): Promise<void> {
    if (s.req.service === 'git-upload-pack') {
      if (!existsSync(grant.repo)) {
        throw new VigoError('E_NO_BARE_REPO', `project ${s.req.handle} has no bare repo on this envoy yet (awaiting first push or DR catch-up)`, {
          hint: 'push to it first (vigo swarm gitback project push)',
        });
      }
      const give = this.takeGitSlot(s.cred.uid);
      try {
        await this.pipe(s, grant.repo, rest, false);
      } finally {
        give();
      }
      return;
    }
    // Answer at once, then queue for the lock: the client's short first-answer deadline
    // (a stopped daemon) must not fire while another push holds the lock; a refusal from
    // here on (revoked while queued, a cap) reaches git as an ERR packet (endSession)
    const pushId = s.pushId;
    if (pushId !== null) this.pushes.open(pushId, s.cred.uid, grant.projectId);
    let outcome: PushOutcome = { kind: 'none', reason: 'the push changed no ref', quiet: true };
    this.reply(s.sock, pushId === null ? { ok: true } : { ok: true, status: { push_id: pushId } }, false);
    s.answered = true;
    this.emit('receiving', grant.projectId);
    try {
      await this.withLock(grant.projectId, async () => {
        if (s.ended || s.sock.destroyed) return;
        // A first push receives into a repo set aside; only refs that arrive make it the
        // project's bare repo (an aborted or empty push leaves nothing behind).
        const fresh = !existsSync(grant.repo);
        if (fresh) this.checkRepoQuota(s.cred.uid);
        const give = this.takeGitSlot(s.cred.uid);
        const repo = fresh ? createPendingRepo(grant.repo, this.opts.gitEnv) : grant.repo;
        try {
          const before = fresh ? new Map<string, string>() : await this.refs.listAsync(repo);
          await this.pipe(s, repo, rest, true);
          const after = await this.refs.listAsync(repo);
          const changes = diffRefs(before, after);
          if (changes.length === 0) {
            if (fresh) this.opts.log(`${grant.user} (uid ${s.cred.uid}): first push to ${grant.projectId.slice(0, 12)}… sent no refs; no bare repo created`);
            return;
          }
          await fixHead(repo, after, this.opts.gitEnv);
          if (fresh) {
            renameSync(repo, grant.repo);
            this.recordRepo(s.cred.uid, grant.projectId, grant.repo);
            this.opts.log(`created bare repo ${grant.repo} (first push by ${grant.user}, uid ${s.cred.uid})`);
          }
          this.opts.log(`${grant.user} (uid ${s.cred.uid}) updated ${changes.length} ref(s) in ${grant.projectId.slice(0, 12)}…`);
          this.emit('refs-changed', { projectId: grant.projectId, repo: grant.repo, uid: s.cred.uid, user: grant.user, before, after, changes });
          // still under the lock: the bundle is of exactly this change
          if (pushId !== null) outcome = await this.pushOutcome(grant, changes);
        } finally {
          give();
          if (fresh && repo !== grant.repo) rmSync(repo, { recursive: true, force: true });
        }
      });
    } catch (e) {
      outcome = { kind: 'none', reason: e instanceof Error ? e.message : String(e), quiet: false };
      throw e;
    } finally {
      if (pushId !== null) this.pushes.settle(pushId, outcome);
    }
  }

  /** What a push that changed refs leaves for its manifest exchange (never throws: the push itself landed). */
  private async pushOutcome(grant: Grant, changes: RefChange[]): Promise<PushOutcome> {
    const r = this.replicator;
    if (r === null) return { kind: 'none', reason: 'this envoy has no swarm assignment', quiet: true };
    if (grant.pusher === undefined || this.opts.seqDir === undefined) return { kind: 'none', reason: 'this daemon cannot sign pushes (no pusher chain or sequence directory)', quiet: false };
    try {
      const refs = changes.map((c) => ({ ref: c.ref, old: c.before, new: c.after }));
      const manifest = await buildManifest(r, grant.projectId, refs, grant.pusher, this.opts.seqDir, this.opts.clock);
      if (manifest === null) return { kind: 'none', reason: 'every ref is back at the tip replication holds', quiet: false };
      return { kind: 'manifest', manifest, pusher: grant.pusher };
    } catch (e) {
      this.opts.log(`replication: cannot prepare the push to ${grant.projectId.slice(0, 12)}… by ${grant.user}: ${e instanceof Error ? e.message : String(e)}`);
      return { kind: 'none', reason: `the envoy could not bundle it: ${e instanceof Error ? e.message : String(e)}`, quiet: false };
    }
  }

  /**
   * `push-manifest`: the unsigned manifest of the push this uid made (its id, once), then
   * one `push-signed` line back; the signed update goes to replication, and the answer is
   * the replica report: a line per new acknowledgement (final:false), then the count
   * within the report's bound (or -o replicas=N's), final:true.
   */
  private async manifestExchange(sock: Socket, cred: PeerCred, pushId: string, rest: Buffer): Promise<void> {
    if (rest.length > 0) throw new VigoError('E_BAD_REQUEST', 'bad request: data after the push-manifest request, before its answer');
    const L = this.limits;
    const outcome = await bounded(this.pushes.take(pushId, cred.uid), L.receiveLockMaxMs, () => new VigoError('E_TIMEOUT', `the push did not finish within ${seconds(L.receiveLockMaxMs)}`));
    await this.signedExchange(sock, cred, outcome);
  }

  /**
   * `replicate` (root): what reached the bare repo outside a receive — root's file:// push
   * into the stacks project — as a push's outcome. Under the project's lock, the repo's refs
   * are diffed against the tips replication recorded; each move is bundled as a push's
   * would be (preparePush), with the service-account puddle as the pusher.
   */
  private async replicateOutcome(grant: Grant): Promise<PushOutcome> {
    const r = this.replicator;
    if (r === null) return { kind: 'none', reason: 'this envoy has no swarm assignment (gitback is not enabled for it in server.yaml swarm)', quiet: false };
    if (grant.pusher === undefined) return { kind: 'none', reason: 'the grant names no pusher', quiet: false };
    if (!existsSync(grant.repo)) return { kind: 'none', reason: `no bare repo at ${grant.repo} yet`, quiet: true };
    const pusher = grant.pusher;
    return this.withLock(grant.projectId, async () => {
      try {
        r.member(grant.projectId, pusher.scope);
      } catch (e) {
        this.opts.log(`replication: cannot record ${grant.projectId.slice(0, 12)}… as held here: ${e instanceof Error ? e.message : String(e)}`);
      }
      // replication applies a peer's update (refs, then its record) in one synchronous step:
      // a listing that raced one is taken again, so a peer's move is never re-signed as ours
      let changes: RefChange[] = [];
      for (let tries = 0; ; tries++) {
        const held = new Map(r.heldRefs(grant.projectId));
        const now = await this.refs.listAsync(grant.repo);
        if (sameRefs(held, new Map(r.heldRefs(grant.projectId)))) {
          changes = diffRefs(held, now);
          break;
        }
        if (tries === 3) return { kind: 'none', reason: 'replication kept moving the refs while they were read; ask again', quiet: false };
      }
      if (changes.length === 0) return { kind: 'none', reason: 'the bare repo is at the tips replication holds', quiet: true };
      this.opts.log(`${grant.user} (root): ${changes.length} ref(s) of ${grant.projectId.slice(0, 12)}… moved outside a receive; handing them to replication`);
      return this.pushOutcome(grant, changes);
    });
  }

  /**
   * The manifest half of a push (or a replicate): the unsigned manifest out, one
   * `push-signed` line back, checked against the pusher; then the fan-out and its report.
   */
  private async signedExchange(sock: Socket, cred: PeerCred, outcome: PushOutcome): Promise<void> {
    const L = this.limits;
    if (outcome.kind === 'none') {
      this.reply(sock, { ok: true, status: { replicated: false, reason: outcome.reason, quiet: outcome.quiet } }, true);
      return;
    }
    this.reply(sock, { ok: true, status: { manifest: outcome.manifest } }, false);
    // signing goes through the user's puddle session, like a bind proof
    const ms = Math.max(L.requestTimeoutMs, 15_000);
    const timer = setTimeout(() => refuseNow(sock, new VigoError('E_TIMEOUT', `no signed manifest within ${seconds(ms)}`)), ms);
    let line: string;
    try {
      line = (await readLine(sock, MAX_SIGNED_LINE_BYTES)).line;
    } catch (e) {
      this.opts.log(`uid ${cred.uid}: push to ${outcome.manifest.project_id.slice(0, 12)}… not replicated: no signed manifest came back (${e instanceof Error ? e.message : String(e)})`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const signed = parsePushSignedLine(line);
    const m = checkSigned(signed.manifest, outcome.manifest, outcome.pusher, Math.floor(this.opts.clock.now() / 1000));
    const r = this.replicator;
    if (r === null) throw new VigoError('E_NO_SWARM', 'this envoy lost its swarm assignment during the push; nothing was replicated', { hint: 'the next push after the swarm is back replicates this change too' });
    r.localPush({ manifest: m, chain: outcome.pusher.chain }, { scope: m.scope, member: true });
    const id = manifestId(m);
    const wanted = signed.replicas;
    const within = wanted === null ? L.replicaReportMs : L.replicasWaitMs;
    const c = await r.waitReplicas(m.project_id, id, wanted ?? Number.MAX_SAFE_INTEGER, within, (p) => this.reply(sock, { ok: true, status: { acked: p.acked, of: p.of, final: false } }, false));
    this.opts.log(`uid ${cred.uid}: push to ${m.project_id.slice(0, 12)}… (seq ${m.seq}) replicated to ${c.acked} of ${c.of} peer(s)${wanted === null ? '' : `, ${wanted} wanted`}`);
    this.reply(sock, { ok: true, status: { acked: c.acked, of: c.of, wanted, within_s: within / 1000, final: true } }, true);
  }

  /** Repos this uid created that still exist (the ledger names each one's path). */
  private reposCreatedBy(uid: number): number {
    if (this.opts.repoLedgerDir === undefined) return 0;
    const dir = join(this.opts.repoLedgerDir, String(uid));
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    } catch {
      return 0;
    }
    return names.filter((n) => {
      try {
        return existsSync(readFileSync(join(dir, n), 'utf8').trim());
      } catch {
        return false;
      }
    }).length;
  }

  private checkRepoQuota(uid: number): void {
    const max = this.limits.maxReposPerUid;
    if (max === null || this.opts.repoLedgerDir === undefined) return;
    const n = this.reposCreatedBy(uid);
    if (n >= max) {
      throw new VigoError('E_REPO_QUOTA', `you (uid ${uid}) already created ${n} bare repos on this envoy, the quota (gitback.max_repos_per_uid = ${max})`, {
        hint: 'remove projects you no longer need (as root: vigo swarm gitback gc-orphans), or ask the operator to raise gitback.max_repos_per_uid',
      });
    }
  }

  private recordRepo(uid: number, projectId: string, repo: string): void {
    if (this.opts.repoLedgerDir === undefined) return;
    const dir = join(this.opts.repoLedgerDir, String(uid));
    mkdirSync(this.opts.repoLedgerDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(dir, projectId), repo + '\n', { mode: 0o600, mkdirMode: 0o700 });
  }

  /** Copies every ref (and the objects behind them) from one bare repo into another. */
  async migrate(cred: PeerCred, from: Grant, to: Grant): Promise<number> {
    if (!existsSync(from.repo)) {
      throw new VigoError('E_NO_BARE_REPO', `project ${from.projectId.slice(0, 12)}… has no bare repo on this envoy; nothing to migrate`);
    }
    return this.withLock(to.projectId, async () => {
      if (!existsSync(to.repo)) this.checkRepoQuota(cred.uid);
      const give = this.takeGitSlot(cred.uid);
      try {
        if (ensureBareRepo(to.repo, this.opts.gitEnv)) this.recordRepo(cred.uid, to.projectId, to.repo);
        const before = await this.refs.listAsync(to.repo);
        await gitAsync(['--git-dir', to.repo, 'fetch', '--quiet', from.repo, '+refs/*:refs/*'], this.opts.gitEnv);
        const after = await this.refs.listAsync(to.repo);
        await fixHead(to.repo, after, this.opts.gitEnv);
        const changes = diffRefs(before, after);
        this.opts.log(`${to.user} (uid ${cred.uid}) migrated ${after.size} ref(s) ${from.projectId.slice(0, 12)}… → ${to.projectId.slice(0, 12)}…`);
        if (changes.length > 0) this.emit('refs-changed', { projectId: to.projectId, repo: to.repo, uid: cred.uid, user: to.user, before, after, changes });
        return after.size;
      } finally {
        give();
      }
    });
  }

  /**
   * The byte pipe between the client and git. Deadlines: idle (no traffic), and while
   * the session holds the receive lock, an absolute hold time and a stall time (no byte
   * either way; git's own keepalives count, so a slow server-side step is not a stall).
   */
  private pipe(s: Session, repo: string, rest: Buffer, holdsLock: boolean): Promise<void> {
    const { sock, req } = s;
    const L = this.limits;
    return new Promise<void>((resolve) => {
      // ended (revoked, deadline) while it waited for the lock or a ref snapshot: no git at all
      if (s.ended || sock.destroyed) return resolve();
      const child = spawnService(req.service, repo, req.git_protocol, this.opts.gitEnv);
      s.child = child;
      if (!s.answered) this.reply(sock, { ok: true }, false);
      s.answered = true;
      s.piping = true;
      const timers: NodeJS.Timeout[] = [];
      sock.setTimeout(L.idleTimeoutMs, () =>
        this.endSession(s, new VigoError('E_IDLE', `${req.service} session ended: no traffic for ${seconds(L.idleTimeoutMs)} (gitback.idle_timeout_s)`)),
      );
      if (holdsLock) {
        const clock = this.opts.clock;
        let last = clock.now();
        const moved = () => (last = clock.now());
        sock.on('data', moved);
        child.stdout?.on('data', moved);
        timers.push(
          setTimeout(
            () =>
              this.endSession(
                s,
                new VigoError('E_LOCK_DEADLINE', `push ended: it held the project's receive lock for ${seconds(L.receiveLockMaxMs)} (gitback.receive_lock_max_s), so others may push`, {
                  hint: 'retry; split a very large push into smaller ones',
                }),
              ),
            L.receiveLockMaxMs,
          ),
          setInterval(() => {
            if (clock.now() - last < L.receiveStallMs) return;
            this.endSession(
              s,
              new VigoError('E_STALLED', `push ended: no progress for ${seconds(L.receiveStallMs)} while holding the project's receive lock (gitback.receive_stall_s)`, {
                hint: 'retry; a slow pre-push hook holds the lock too, so keep it short',
              }),
            );
          }, Math.max(100, Math.min(1_000, L.receiveStallMs / 4))),
        );
      }
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => {
        if (stderr.length < 4096) stderr += c.toString('utf8');
      });
      child.stdin?.on('error', () => undefined);
      if (rest.length > 0) child.stdin?.write(rest);
      if (child.stdin) sock.pipe(child.stdin);
      sock.resume();
      child.stdout?.pipe(sock, { end: false });
      const onSockClose = () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      };
      sock.once('close', onSockClose);
      const done = () => {
        for (const t of timers) clearTimeout(t);
        sock.setTimeout(0);
        resolve();
      };
      child.once('close', (code, signal) => {
        sock.removeListener('close', onSockClose);
        if (code !== 0 && !s.ended) this.opts.log(`${req.service} for uid ${s.cred.uid} exited ${code ?? signal}: ${stderr.trim()}`);
        if (!sock.destroyed && !s.ended) {
          sock.end();
          // a client that never closes its side must not keep the socket (and its slot)
          setTimeout(() => sock.destroy(), 10_000).unref();
        }
        done();
      });
      child.once('error', (e) => {
        this.opts.log(`cannot run ${req.service}: ${e.message}`);
        sock.destroy();
        done();
      });
    });
  }
}

/**
 * One refusal line, then the socket is gone (not left half-open for the client to hold).
 * Kept cheap (no timer): it is the path a connect flood takes. The short line goes
 * straight into the peer's receive queue, so the write finishes at once.
 */
function refuseNow(sock: Socket, e: VigoError): void {
  if (sock.destroyed) return;
  sock.end(encodeLine(errorResponse(e)), () => sock.destroy());
}

function sameRefs(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** The tunnel's hint that pushes replicate here (see markReplicating). */
export function replicatingMarker(socketPath: string): string {
  return join(dirname(uidSocketDir(socketPath)), 'replicating');
}

/** p, or the error `late()` makes after ms. */
function bounded<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), ms)))]).finally(() => clearTimeout(timer));
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function errorResponse(e: unknown): DaemonResponse {
  if (isVigoError(e)) return { ok: false, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  return { ok: false, code: 'E_INTERNAL', message: 'internal error in the gitback helper daemon (see the agent log)' };
}
