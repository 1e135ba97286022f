/**
 * The gitback helper daemon's socket server. Every accepted connection is attributed to
 * the uid the KERNEL reports (SO_PEERCRED); the request line only names a service and a
 * project. Access is decided by `authorize` (which loads that uid's own state); the daemon
 * then proxies the socket to git upload-pack / receive-pack on the bare repo. Receives on
 * one project are serialised, with the refs snapshotted before and after each, so a
 * racing push sees the winner's refs and fails cleanly as a non-fast-forward, and the
 * fan-out hook gets an exact delta.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { EventEmitter } from 'node:events';
import { peerCred as kernelPeerCred, type PeerCred } from '../../platform/peercred.js';
import { isVigoError, VigoError } from '../../platform/errors.js';
import { encodeLine, parseRequest, readLine, type DaemonRequest, type DaemonResponse } from './protocol.js';
import { diffRefs, ensureBareRepo, fixHead, gitAsync, snapshotRefsAsync, spawnService, type RefChange, type RefSnapshot } from './git.js';

/** A proxied git session with no traffic for this long is closed. */
export const IDLE_TIMEOUT_MS = 300_000;

export type ConnectRequest = Extract<DaemonRequest, { op: 'connect' }>;
export type MigrateRequest = Extract<DaemonRequest, { op: 'migrate' }>;

export interface Grant {
  /** absolute path of the bare repo */
  repo: string;
  projectId: string;
  /** for logs and the fan-out hook: who, by their verified chain */
  user: string;
  role: string;
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
  log(msg: string): void;
  /** defaults to the real SO_PEERCRED lookup */
  peerCred?: (sock: Socket) => PeerCred;
}

export class GitbackDaemon extends EventEmitter<{ 'refs-changed': [RefsChangedEvent] }> {
  private server: Server | null = null;
  private readonly locks = new Map<string, Promise<void>>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: DaemonOptions) {
    super();
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
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    // Anyone may connect; who they are and what they may do is decided per connection.
    chmodSync(path, 0o666);
    this.server = server;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.opts.socketPath);
    } catch {
      /* gone already */
    }
  }

  private async handle(sock: Socket): Promise<void> {
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    let cred: PeerCred;
    try {
      cred = (this.opts.peerCred ?? kernelPeerCred)(sock);
    } catch (e) {
      this.opts.log(`refusing a connection: ${e instanceof Error ? e.message : String(e)}`);
      sock.destroy();
      return;
    }
    const timer = setTimeout(() => sock.destroy(), 30_000);
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
    try {
      if (req.op === 'status') {
        this.reply(sock, { ok: true, status: await this.opts.status(cred) }, true);
        return;
      }
      if (req.op === 'migrate') {
        const g = await this.opts.authorizeMigrate(cred, req);
        const refs = await this.migrate(cred, g.from, g.to);
        this.reply(sock, { ok: true, status: { refs } }, true);
        return;
      }
      const grant = await this.opts.authorize(cred, req);
      await this.proxy(sock, cred, req, grant, rest);
    } catch (e) {
      if (!isVigoError(e)) this.opts.log(`uid ${cred.uid}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      else this.opts.log(`uid ${cred.uid}: refused ${req.op === 'connect' ? `${req.service} ${req.project_id.slice(0, 12)}…` : req.op}: ${e.code} ${e.message}`);
      if (!sock.destroyed) this.reply(sock, errorResponse(e), true);
    }
  }

  private reply(sock: Socket, resp: DaemonResponse, end: boolean): void {
    if (sock.destroyed) return;
    if (end) sock.end(encodeLine(resp));
    else sock.write(encodeLine(resp));
  }

  /** Runs fn while holding the project's receive lock. */
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

  private async proxy(sock: Socket, cred: PeerCred, req: ConnectRequest, grant: Grant, rest: Buffer): Promise<void> {
    if (req.service === 'git-upload-pack') {
      if (!existsSync(grant.repo)) {
        throw new VigoError('E_NO_BARE_REPO', `project ${req.handle} has no bare repo on this envoy yet (awaiting first push or DR catch-up)`, {
          hint: 'push to it first (vigo swarm gitback project push)',
        });
      }
      await this.pipe(sock, req, grant, rest);
      return;
    }
    await this.withLock(grant.projectId, async () => {
      if (sock.destroyed) return;
      if (ensureBareRepo(grant.repo)) this.opts.log(`created bare repo ${grant.repo}`);
      const before = await snapshotRefsAsync(grant.repo);
      await this.pipe(sock, req, grant, rest);
      const after = await snapshotRefsAsync(grant.repo);
      const changes = diffRefs(before, after);
      if (changes.length > 0) {
        await fixHead(grant.repo, after);
        this.opts.log(`${grant.user} (uid ${cred.uid}) updated ${changes.length} ref(s) in ${grant.projectId.slice(0, 12)}…`);
        this.emit('refs-changed', { projectId: grant.projectId, repo: grant.repo, uid: cred.uid, user: grant.user, before, after, changes });
      }
    });
  }

  /** Copies every ref (and the objects behind them) from one bare repo into another. */
  async migrate(cred: PeerCred, from: Grant, to: Grant): Promise<number> {
    if (!existsSync(from.repo)) {
      throw new VigoError('E_NO_BARE_REPO', `project ${from.projectId.slice(0, 12)}… has no bare repo on this envoy; nothing to migrate`);
    }
    return this.withLock(to.projectId, async () => {
      ensureBareRepo(to.repo);
      const before = await snapshotRefsAsync(to.repo);
      await gitAsync(['--git-dir', to.repo, 'fetch', '--quiet', from.repo, '+refs/*:refs/*']);
      const after = await snapshotRefsAsync(to.repo);
      await fixHead(to.repo, after);
      const changes = diffRefs(before, after);
      this.opts.log(`${to.user} (uid ${cred.uid}) migrated ${after.size} ref(s) ${from.projectId.slice(0, 12)}… → ${to.projectId.slice(0, 12)}…`);
      if (changes.length > 0) this.emit('refs-changed', { projectId: to.projectId, repo: to.repo, uid: cred.uid, user: to.user, before, after, changes });
      return after.size;
    });
  }

  private pipe(sock: Socket, req: ConnectRequest, grant: Grant, rest: Buffer): Promise<void> {
    return new Promise<void>((resolve) => {
      const child = spawnService(req.service, grant.repo, req.git_protocol);
      this.reply(sock, { ok: true }, false);
      // an idle session must not hold the project's receive lock forever
      sock.setTimeout(IDLE_TIMEOUT_MS, () => {
        this.opts.log(`${req.service} for ${grant.user}: idle for ${IDLE_TIMEOUT_MS / 1000} s, closing`);
        sock.destroy();
      });
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
      child.once('close', (code, signal) => {
        sock.removeListener('close', onSockClose);
        if (code !== 0) this.opts.log(`${req.service} for ${grant.user} exited ${code ?? signal}: ${stderr.trim()}`);
        if (!sock.destroyed) sock.end();
        resolve();
      });
      child.once('error', (e) => {
        this.opts.log(`cannot run ${req.service}: ${e.message}`);
        sock.destroy();
        resolve();
      });
    });
  }
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
