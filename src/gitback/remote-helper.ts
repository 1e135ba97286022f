/**
 * git-remote-gitback: git's remote helper for gitback:// URLs (gitremote-helpers(7)).
 * It offers only the `connect` capability: git asks to connect to git-upload-pack or
 * git-receive-pack, we open the helper daemon's Unix socket, send one request line naming
 * the service and project, and on an ok answer become a transparent byte pipe between git
 * and the daemon's upload-pack/receive-pack — so git's own negotiation, thin packs and
 * atomic pushes work unchanged. A refusal is printed as a git fatal error carrying the
 * daemon's reason, and the helper exits non-zero.
 */
import { spawnSync } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { VigoError, isVigoError } from '../platform/errors.js';
import { uidSocketPath } from './daemon/uid-socket.js';
import { encodeLine, parseResponse, readLine, type GitService, type DaemonResponse } from './daemon/protocol.js';
import { parseGitbackUrl, resolveProjectId, type NameSources } from './url.js';
import { humanizeTimes } from './when.js';
import { LineFramer } from '../wire/lines.js';
import type { bindFromSession } from './bind-client.js';
import { PushOptionSniffer, reportPush } from './push-report.js';
import type { Signer } from '../trust/index.js';

export interface RemoteHelperIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  socketPath: string;
  names: NameSources;
  /** binds through the unlocked session (bind-client.ts's bindFromSession); passed in, as bind-client uses this file */
  bind(env: NodeJS.ProcessEnv, opts: { force?: boolean; socketPath?: string }): ReturnType<typeof bindFromSession>;
  /** the puddle's signer through the session helper, to sign a push's manifest (absent: pushes are not replicated) */
  signer?: () => Promise<Signer>;
  /** stderr is a terminal: progress lines while the replica report waits */
  stderrIsTTY?: boolean;
  /** replaces the manifest exchange after a push (push-report.ts reportPush); returns the exit code */
  afterPush?: (pushId: string, wanted: number | null) => Promise<number>;
}

/** git's commands are short (`connect git-receive-pack`); anything this long is not git. */
const MAX_COMMAND_BYTES = 64 * 1024;

/** Line reader over git's command stream that can hand back the unread bytes. */
class CommandReader {
  private readonly lines = new LineFramer(MAX_COMMAND_BYTES, "git's remote-helper command");
  private ended = false;
  private waiter: (() => void) | null = null;
  private readonly onData = (c: Buffer | string) => {
    this.lines.push(c);
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };

  constructor(private readonly stream: NodeJS.ReadableStream) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async nextLine(): Promise<string | null> {
    for (;;) {
      const line = this.lines.next();
      if (line !== null) return line;
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** Stop reading lines; returns what was buffered beyond the last line. */
  detach(): { rest: Buffer; ended: boolean } {
    this.stream.removeListener('data', this.onData);
    this.stream.removeListener('end', this.onEnd);
    this.stream.pause();
    return { rest: this.lines.flush(), ended: this.ended };
  }
}

/** How long the helper waits for a push's manifest (the daemon bundles the change first). */
export const MANIFEST_WAIT_MS = 300_000;

/** Default bound on connecting to the daemon and on its first answer (not on a git transfer). */
export const DAEMON_TIMEOUT_S = 5;

/**
 * How long to wait for the helper daemon to accept a connection and send its first answer:
 * VIGO_GITBACK_TIMEOUT (seconds, fractions allowed), else DAEMON_TIMEOUT_S. A stopped
 * (`kill -STOP`) or wedged daemon still has its socket and the kernel still accepts
 * connections into the backlog, so without this bound every caller hangs forever.
 */
export function daemonTimeoutMs(env: { readonly VIGO_GITBACK_TIMEOUT?: string | undefined }): number {
  const v = env.VIGO_GITBACK_TIMEOUT;
  if (v === undefined || v === '') return DAEMON_TIMEOUT_S * 1000;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    throw new VigoError('E_USAGE', `VIGO_GITBACK_TIMEOUT must be a positive number of seconds, not '${v}'`);
  }
  return Math.round(n * 1000);
}

function notAnswering(path: string, ms: number): VigoError {
  return new VigoError('E_DAEMON_SILENT', `the helper daemon is not answering (nothing within ${ms / 1000} s on ${path})`, {
    hint:
      'the envoy agent may be stopped (kill -STOP) or wedged: check it (`systemctl status vigo-envoy`, or the `vigo agent run` process) and restart it; ' +
      'on a very loaded envoy wait longer with VIGO_GITBACK_TIMEOUT=<seconds>',
  });
}

/**
 * Our own per-uid socket first (`<run dir>/gitback/u/<uid>.sock`, see daemon/uid-socket.ts):
 * its accept queue holds only our connections, so another user's connect flood does not
 * delay us. It exists once we connected to the shared socket before; any failure on it
 * (none yet, our own full queue) falls back to the shared one. EAGAIN on the shared socket
 * means its accept queue is full (another local user flooding it): transient, so retry
 * with a short backoff within the same deadline.
 */
export async function connectSocket(path: string, timeoutMs: number): Promise<Socket> {
  const until = Date.now() + timeoutMs;
  const uid = process.geteuid?.();
  if (uid !== undefined) {
    try {
      return await connectOnce(uidSocketPath(path, uid), timeoutMs);
    } catch {
      /* not there (yet), or full: the shared socket */
    }
  }
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await connectOnce(path, Math.max(1, until - Date.now()));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }
}

function connectOnce(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path, allowHalfOpen: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(notAnswering(path, timeoutMs));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        reject(
          new VigoError('E_DAEMON_DOWN', `the gitback helper daemon is not running (no socket at ${path})`, {
            hint: 'start the envoy agent (`vigo agent run`, as root)',
          }),
        );
      } else if (e.code === 'EACCES') {
        reject(new VigoError('E_DAEMON_DOWN', `cannot open the gitback helper daemon socket ${path}: permission denied`));
      } else reject(e);
    });
  });
}

/**
 * One answer line from the daemon within `timeoutMs` (the socket is destroyed on timeout).
 * Used for the first answer of every exchange; never for a git transfer's data flow.
 */
export async function readAnswer(sock: Socket, path: string, timeoutMs: number, maxBytes = 16 * 1024 * 1024): Promise<{ resp: DaemonResponse; rest: Buffer }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      sock.destroy();
      reject(notAnswering(path, timeoutMs));
    }, timeoutMs);
  });
  try {
    const { line, rest } = await Promise.race([readLine(sock, maxBytes), timeout]);
    return { resp: parseResponse(line), rest };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One request/response exchange with the daemon; the socket stays open after it. Connect
 * and the answer are each bounded by `timeoutMs` (the caller's daemonTimeoutMs(env), or longer).
 */
export async function daemonRequest(
  socketPath: string,
  req: Parameters<typeof encodeLine>[0],
  opts: { timeoutMs: number },
): Promise<{ sock: Socket; resp: DaemonResponse; rest: Buffer }> {
  const ms = opts.timeoutMs;
  const sock = await connectSocket(socketPath, ms);
  sock.write(encodeLine(req));
  try {
    const { resp, rest } = await readAnswer(sock, socketPath, ms);
    return { sock, resp, rest };
  } catch (e) {
    sock.destroy();
    throw e;
  }
}

async function connectService(io: RemoteHelperIo, service: GitService, projectId: string, handle: string, reader: CommandReader): Promise<number> {
  const gp = io.env.GIT_PROTOCOL ?? (service === 'git-upload-pack' ? wantedProtocol(io.env) : undefined);
  const { sock, resp, rest } = await daemonRequest(
    io.socketPath,
    { v: 1, op: 'connect', service, project_id: projectId, handle, git_protocol: gp !== undefined && gp !== '' ? gp : null },
    { timeoutMs: daemonTimeoutMs(io.env) },
  );
  if (!resp.ok) {
    sock.destroy();
    const message = humanizeTimes(resp.message, Math.floor(Date.now() / 1000));
    throw new VigoError(resp.code, message, resp.hint !== undefined ? { hint: resp.hint } : {});
  }
  // Connection established: an empty line tells git to start speaking the pack protocol.
  io.stdout.write('\n');
  const pushId = service === 'git-receive-pack' ? ((resp.status as { push_id?: unknown } | undefined)?.push_id ?? null) : null;
  // git's push options travel to receive-pack in its request; only `replicas=N` is ours
  const sniffer = typeof pushId === 'string' ? new PushOptionSniffer() : null;
  const { rest: pending, ended } = reader.detach();
  if (pending.length > 0) {
    sniffer?.feed(pending);
    sock.write(pending);
  }
  if (ended) sock.end();
  else {
    if (sniffer !== null) io.stdin.on('data', (c: Buffer) => sniffer.feed(c));
    io.stdin.pipe(sock);
    io.stdin.resume();
  }
  if (rest.length > 0) io.stdout.write(rest);
  sock.pipe(io.stdout, { end: false });
  const code = await new Promise<number>((resolve) => {
    sock.once('error', (e) => {
      io.stderr.write(`fatal: gitback: connection to the helper daemon failed: ${e.message}\n`);
      resolve(128);
    });
    sock.once('close', () => resolve(0));
  });
  if (code !== 0 || sniffer === null || typeof pushId !== 'string' || (io.signer === undefined && io.afterPush === undefined)) return code;
  let wanted: number | null;
  try {
    wanted = sniffer.replicas();
  } catch (e) {
    io.stderr.write(`gitback: ${e instanceof Error ? e.message : String(e)}; the push landed on this envoy\n`);
    wanted = null;
  }
  if (io.afterPush !== undefined) return io.afterPush(pushId, wanted);
  const signer = io.signer!;
  return reportPush(
    {
      stderr: io.stderr,
      stderrIsTTY: io.stderrIsTTY === true,
      signer,
      // the daemon answers once the push's bundle is built (a large first push takes a while)
      request: (line) => daemonRequest(io.socketPath, line, { timeoutMs: Math.max(daemonTimeoutMs(io.env), MANIFEST_WAIT_MS) }),
    },
    pushId,
    wanted,
  );
}

/**
 * git does not hand GIT_PROTOCOL to a `connect` helper, but it speaks whatever version
 * the server announces. Like ssh, we ask upload-pack for protocol v2 unless the user's
 * git config pins protocol.version to something else (v2 is git's default since 2.26).
 * receive-pack speaks v0 either way.
 */
function wantedProtocol(env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync('git', ['config', '--get', 'protocol.version'], { env, encoding: 'utf8' });
  const v = r.status === 0 ? r.stdout.trim() : '';
  return v === '' || v === '2' ? 'version=2' : undefined;
}

/** Runs the helper protocol; returns the exit code. */
export async function runRemoteHelper(argv: string[], io: RemoteHelperIo): Promise<number> {
  // git invokes: git-remote-gitback <remote-name-or-url> [<url>]
  const url = argv[1] ?? argv[0];
  const reader = new CommandReader(io.stdin);
  try {
    if (url === undefined) throw new VigoError('E_USAGE', 'usage: git-remote-gitback <remote> [<url>] (git runs this for gitback:// URLs)');
    const parsed = parseGitbackUrl(url);
    let projectId: string | null = null;
    for (;;) {
      const line = await reader.nextLine();
      if (line === null || line === '') return 0;
      if (line === 'capabilities') {
        io.stdout.write('connect\n\n');
        continue;
      }
      const m = /^connect (git-upload-pack|git-receive-pack)$/.exec(line);
      if (m) {
        projectId ??= await resolveProjectId(parsed, io.names);
        try {
          return await connectService(io, m[1] as GitService, projectId, parsed.handle, reader);
        } catch (e) {
          // not bound yet (or rekeyed): one bind through the session helper if it is unlocked, one retry
          if (!isVigoError(e) || (e.code !== 'E_UNBOUND' && e.code !== 'E_BINDING_MISMATCH')) throw e;
          const b = await io.bind(io.env, { force: true, socketPath: io.socketPath });
          if (b?.ok === false && b.locked) {
            // keep the daemon's hint (it names the command); the message says why it applies
            throw new VigoError(e.code, `${e.message}; your puddle is locked, so it cannot be bound now: run \`vigo swarm puddle unlock\` first`, e.hint !== undefined ? { hint: e.hint } : {});
          }
          if (b?.ok !== true) throw e;
          return await connectService(io, m[1] as GitService, projectId, parsed.handle, reader);
        }
      }
      if (line === 'connect git-upload-archive') {
        throw new VigoError('E_UNSUPPORTED', '`git archive --remote` is not supported over gitback (the helper daemon serves only fetch and push)', {
          hint: `clone or fetch it, then run \`git archive\` on the local copy (e.g. git archive --format=tar <ref>)`,
        });
      }
      throw new VigoError('E_HELPER_PROTOCOL', `unsupported remote-helper command '${line}'`);
    }
  } catch (e) {
    const msg = isVigoError(e) || e instanceof Error ? e.message : String(e);
    io.stderr.write(`fatal: gitback: ${msg}\n`);
    if (isVigoError(e) && e.hint) io.stderr.write(`hint: ${e.hint}\n`);
    return 128;
  }
}
