/**
 * The per-user session helper: a detached process that holds the unwrapped Ed25519 key in
 * memory only and signs for the puddle's owner over ~/.vigo-puddle/session.sock.
 *
 * - Every connection is checked with SO_PEERCRED; only the helper's own uid is served.
 *   Nothing a client sends is taken as identity.
 * - It locks (forgets the key, removes the socket and session.unlocked, exits) on LOCK,
 *   after `idleTimeoutS` without a SIGN, when the watched parent process exits, on
 *   SIGTERM/SIGINT/SIGHUP, or when its socket or session.unlocked is removed under it.
 * - The log (stderr) records what happened and to whom; never key material.
 */
import type { Server } from 'node:net';
import { chmodSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../../platform/atomic.js';
import { lineServer } from './line-server.js';
import { processAlive } from '../lock.js';
import { seedSigner, toHex, type Signer } from '../../trust/index.js';
import { PRIVATE_MODE, puddlePath } from '../layout.js';
import { MAX_LINE_BYTES, parseRequest, type Answer, type StatusAnswer } from './protocol.js';

export interface HelperOptions {
  dir: string;
  idleTimeoutS: number;
  watchPid: number | null;
  watchStart: string | null;
  log: (msg: string) => void;
  /** called once the socket and session.unlocked are in place */
  onReady: () => void;
  /** called after locking; the entry point exits the process */
  onLocked: () => void;
  pollMs?: number;
}

export interface SessionUnlockedFile {
  v: 1;
  pid: number;
  pubkey: string;
  unlocked_at: number;
  idle_timeout_s: number;
  watch_pid: number | null;
}

export function runHelper(seed: Uint8Array, opts: HelperOptions): void {
  let key: Signer | null = seedSigner(seed); // the key now lives in an OpenSSL KeyObject
  const pubkey = toHex(key.publicKey);
  seed.fill(0);
  const myUid = process.getuid ? process.getuid() : -1;
  const sockPath = puddlePath(opts.dir, 'socket');
  const unlockedPath = puddlePath(opts.dir, 'unlocked');
  const unlockedAt = Math.floor(Date.now() / 1000);
  let idleDeadline = Date.now() + opts.idleTimeoutS * 1000;
  let sockIno = -1;
  let locking = false;
  let timer: NodeJS.Timeout | undefined;

  const lock = (reason: string) => {
    if (locking) return;
    locking = true;
    key = null; // drop the only reference to the key
    if (timer) clearInterval(timer);
    // session.unlocked before the socket: a launcher waits for the socket to go, then starts
    // a new helper whose session.unlocked this one must never remove (rekey's refresh)
    try {
      const f = JSON.parse(readFileSync(unlockedPath, 'utf8')) as SessionUnlockedFile;
      if (f.pid === process.pid) unlinkSync(unlockedPath);
    } catch {
      /* already gone */
    }
    try {
      if (statSync(sockPath).ino === sockIno) unlinkSync(sockPath);
    } catch {
      /* already gone */
    }
    opts.log(`locked: ${reason}`);
    server.close();
    opts.onLocked();
  };

  const status = (): StatusAnswer => ({
    ok: true,
    unlocked: true,
    pubkey,
    pid: process.pid,
    idle_timeout_s: opts.idleTimeoutS,
    idle_left_s: Math.max(0, Math.ceil((idleDeadline - Date.now()) / 1000)),
    watch_pid: opts.watchPid,
    unlocked_at: unlockedAt,
  });

  const handle = async (line: string, peer: string): Promise<{ answer: Answer; after?: () => void }> => {
    const req = parseRequest(line);
    if ('ok' in req) return { answer: req };
    if (locking || key === null) return { answer: { ok: false, code: 'E_PUDDLE_LOCKED', message: 'the session is locking' } };
    switch (req.op) {
      case 'STATUS':
        return { answer: status() };
      case 'SIGN': {
        const msg = Buffer.from(req.msg, 'base64');
        const sig = await key.sign(msg);
        idleDeadline = Date.now() + opts.idleTimeoutS * 1000;
        opts.log(`signed ${msg.length} bytes for ${peer}`);
        return { answer: { ok: true, sig: toHex(sig) } };
      }
      case 'LOCK':
        return { answer: { ok: true, locking: true }, after: () => lock(`LOCK requested by ${peer}`) };
    }
  };

  const server: Server = lineServer({ allowUid: myUid, what: 'session', maxLineBytes: MAX_LINE_BYTES, log: opts.log, refused: (uid) => `uid ${uid} may not use this puddle session`, handle });
  server.on('error', (e) => {
    opts.log(`socket error: ${e.message}`);
    lock('socket error');
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => lock(`signal ${sig}`));
  process.on('uncaughtException', (e) => {
    opts.log(`fatal: ${e.message}`);
    if (locking) process.exit(1);
    lock('fatal error');
  });
  process.on('SIGPIPE', () => undefined);

  const oldUmask = process.umask(0o077);
  try {
    unlinkSync(sockPath); // the launcher checked that nobody answers on it
  } catch {
    /* none */
  }
  server.listen(sockPath, () => {
    process.umask(oldUmask);
    chmodSync(sockPath, PRIVATE_MODE);
    sockIno = statSync(sockPath).ino;
    const file: SessionUnlockedFile = {
      v: 1,
      pid: process.pid,
      pubkey,
      unlocked_at: unlockedAt,
      idle_timeout_s: opts.idleTimeoutS,
      watch_pid: opts.watchPid,
    };
    writeFileAtomic(unlockedPath, JSON.stringify(file) + '\n', { mode: PRIVATE_MODE });
    chmodSync(unlockedPath, PRIVATE_MODE);
    opts.log(
      `unlocked pubkey ${pubkey}; idle timeout ${opts.idleTimeoutS}s; ` +
        (opts.watchPid === null ? 'no watchdog' : `watching pid ${opts.watchPid}`),
    );
    timer = setInterval(() => {
      if (Date.now() >= idleDeadline) return lock(`idle for ${opts.idleTimeoutS}s`);
      if (opts.watchPid !== null && !processAlive(opts.watchPid, opts.watchStart)) {
        return lock(`watchdog: parent pid ${opts.watchPid} exited`);
      }
      try {
        if (statSync(sockPath).ino !== sockIno) return lock('socket replaced');
        statSync(unlockedPath);
      } catch {
        return lock('socket or session.unlocked removed');
      }
    }, opts.pollMs ?? 500);
    opts.onReady();
  });
}
