/**
 * The service-account puddle's helper: a root-only process serving /var/run/vigo/puddle.sock
 * (0600 root; SO_PEERCRED: only uid 0). It opens identity.wrapped once at start (the
 * derived wrap keys arrive from the entry point, which read the master key and dropped
 * it) and keeps the service-account key in memory only. Requests (wire/ops-puddle.ts, §23):
 * STATUS, SIGN (raw bytes, signed by the service-account key), FOUND_OPS_PROJECT stacks
 * members-only (opens the ops-puddle key for the one request, mints the founder's bootstrap
 * token and this host's member token, forgets the key). Logs name the caller, never a key.
 */
import { chmodSync, statSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { lineServer } from '../puddle/index.js';
import { mintBootstrapToken, mintChildToken, projectId, seedSigner, toHex, type Signer } from '../trust/index.js';
import { MAX_HELPER_LINE_BYTES, OPS_PROJECT_HANDLE, parseHelperRequest, type HelperAnswer } from '../wire/ops-puddle.js';
import { openOpsSeed, openServicePuddle, opsStatus, type OpsWraps } from './ops-puddle.js';

export interface OpsHelperOptions {
  socket: string;
  puddleDir: string;
  opsDir: string;
  wraps: OpsWraps;
  log: (msg: string) => void;
  /** unix seconds */
  now: () => number;
  /** the only uid served: 0 (a test may name its own) */
  allowUid?: number;
  onReady: () => void;
}

export function runOpsHelper(opts: OpsHelperOptions): Server {
  const opened = openServicePuddle(opts.puddleDir, opts.wraps.service);
  const key: Signer = seedSigner(opened.seed);
  opened.seed.fill(0);
  const pubkey = opened.pubkey;

  const handle = async (line: string, peer: string): Promise<{ answer: HelperAnswer }> => {
    const req = parseHelperRequest(line);
    if ('ok' in req) return { answer: req };
    switch (req.op) {
      case 'STATUS':
        return { answer: { ok: true, pubkey, ops_pubkey: opsStatus(opts.opsDir)?.pubkey ?? null, pid: process.pid } };
      case 'SIGN': {
        const msg = Buffer.from(req.msg, 'base64');
        const sig = await key.sign(msg);
        opts.log(`signed ${msg.length} bytes for ${peer}`);
        return { answer: { ok: true, sig: toHex(sig) } };
      }
      case 'FOUND_OPS_PROJECT': {
        const { status, seed } = openOpsSeed(opts.opsDir, opts.wraps.ops);
        const ops = seedSigner(seed);
        seed.fill(0);
        const now = opts.now();
        const root = await mintBootstrapToken(ops, OPS_PROJECT_HANDLE, now);
        const member = await mintChildToken(ops, [root], pubkey, 'member', now, null);
        const pid = projectId(ops.publicKey, OPS_PROJECT_HANDLE);
        opts.log(`FOUND_OPS_PROJECT ${OPS_PROJECT_HANDLE} (${pid.slice(0, 12)}…) for ${peer}: member token for ${pubkey.slice(0, 12)}… signed by the ops-puddle ${status.name}`);
        return { answer: { ok: true, project_id: pid, founder: status.pubkey, chain: [root, member] } };
      }
    }
  };

  const server = lineServer({ allowUid: opts.allowUid ?? 0, what: 'service-account helper', maxLineBytes: MAX_HELPER_LINE_BYTES, log: opts.log, refused: (uid) => `uid ${uid} may not use the service-account puddle (root only)`, handle });
  const old = process.umask(0o077);
  try {
    unlinkSync(opts.socket); // the launcher checked that nobody answers on it
  } catch {
    /* none */
  }
  server.listen(opts.socket, () => {
    process.umask(old);
    chmodSync(opts.socket, 0o600);
    const ino = statSync(opts.socket).ino;
    opts.log(`serving ${opts.socket} for uid ${opts.allowUid ?? 0}; service-account puddle ed25519:${pubkey}`);
    const t = setInterval(() => {
      try {
        if (statSync(opts.socket).ino === ino) return;
      } catch {
        /* removed */
      }
      opts.log('socket removed or replaced; exiting');
      clearInterval(t);
      server.close();
      process.exitCode = 0;
    }, 1000);
    t.unref();
    opts.onReady();
  });
  return server;
}
