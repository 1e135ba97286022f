/**
 * The push path's manifest, daemon side (docs/gitback.md "The push path"): after a receive
 * that changed refs the daemon builds the unsigned manifest of exactly that change, keeps
 * it for the uid that pushed, and hands it out once, to that uid, on `push-manifest`. What
 * comes back must be that manifest, signed by the key that presented the push (the
 * chain's leaf subject). The daemon never holds a puddle key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import type { Clock } from '../../platform/clock.js';
import { checkManifest, ManifestError, manifestId, verifyManifest, type Manifest, type RefUpdate, type UnsignedManifest } from '../../wire/gitback-manifest.js';
import type { Scope } from '../../trust/index.js';
import type { GitbackReplicator } from '../replicator.js';

/** Who pushed, as the access decision verified it. */
export interface Pusher {
  /** the key that presented: the chain's leaf subject, bound to the uid */
  key: string;
  /** X-Vigo-Chain text of the pusher's chain and delegations */
  chain: string;
  scope: Scope;
}

/** What a finished receive leaves for its manifest exchange. */
export type PushOutcome =
  | { kind: 'manifest'; manifest: UnsignedManifest; pusher: Pusher }
  /** quiet: nothing to say (no swarm on this envoy, no ref moved) */
  | { kind: 'none'; reason: string; quiet: boolean };

interface Pending {
  uid: number;
  projectId: string;
  outcome: Promise<PushOutcome>;
  settle: (o: PushOutcome) => void;
  settled: boolean;
  /** its manifest was asked for: never handed out again */
  taken: boolean;
}

/** Most pushes waiting for their manifest exchange at once (a push costs a git slot; this only bounds the map). */
export const MAX_PENDING_PUSHES = 4096;
/** A settled push's manifest waits this long for its exchange, then is dropped (not replicated). */
export const PENDING_PUSH_TTL_MS = 120_000;

export class PendingPushes {
  private readonly m = new Map<string, Pending>();

  constructor(private readonly log: (msg: string) => void) {}

  /** A receive-pack session started; its id goes to the client in the connect answer. */
  open(id: string, uid: number, projectId: string): void {
    let settle!: (o: PushOutcome) => void;
    const outcome = new Promise<PushOutcome>((r) => (settle = r));
    const p: Pending = { uid, projectId, outcome, settled: false, taken: false, settle: () => undefined };
    p.settle = (o) => {
      if (p.settled) return;
      p.settled = true;
      settle(o);
      if (p.taken) {
        this.m.delete(id);
        return;
      }
      // not fetched in time: the push is not replicated (nothing signed it)
      setTimeout(() => {
        if (this.m.get(id) === p) {
          this.m.delete(id);
          if (o.kind === 'manifest' && !p.taken) this.log(`uid ${uid}: push to ${projectId.slice(0, 12)}… not replicated: no signed manifest within ${PENDING_PUSH_TTL_MS / 1000} s`);
        }
      }, PENDING_PUSH_TTL_MS).unref();
    };
    this.m.set(id, p);
    while (this.m.size > MAX_PENDING_PUSHES) {
      const [oldest, q] = this.m.entries().next().value!;
      this.m.delete(oldest);
      q.settle({ kind: 'none', reason: 'too many pushes waiting for their manifests on this envoy', quiet: false });
    }
  }

  settle(id: string, o: PushOutcome): void {
    this.m.get(id)?.settle(o);
  }

  /**
   * The outcome of push `id` for the uid asking, once: a replayed id, another uid's id, or
   * one never given all find nothing (and the answer says no more than that).
   */
  take(id: string, uid: number): Promise<PushOutcome> {
    const p = this.m.get(id);
    if (p === undefined || p.uid !== uid || p.taken) {
      throw new VigoError('E_PUSH_UNKNOWN', `no push ${id.slice(0, 8)}… of yours (uid ${uid}) is waiting for its manifest on this envoy`, {
        hint: 'each push hands out its manifest once, to the user who pushed, for 2 minutes; push again to replicate',
      });
    }
    p.taken = true;
    if (p.settled) this.m.delete(id);
    return p.outcome;
  }
}

/**
 * The next sequence number of a pusher's stream on this envoy, persisted before it is
 * used, never reused: max(last + 1, now in ms), so even a lost file does not go back while
 * the clock does not. A file that cannot be read refuses (it is not reset).
 */
export function nextSeq(dir: string, pusher: string, clock: Clock): number {
  const file = join(dir, pusher);
  let last = 0;
  let text: string | null = null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new VigoError('E_STATE', `${file}: cannot read the push sequence: ${(e as Error).message}`, { hint: 'fix its permissions (root, 0600); the next push then replicates' });
  }
  if (text !== null) {
    if (!/^[1-9][0-9]{0,15}\n$/.test(text) || !Number.isSafeInteger(Number(text.trim()))) {
      throw new VigoError('E_STATE', `${file}: not a push sequence number`, { hint: `write a number above every seq this pusher used (e.g. ${clock.now()}) into it, or remove it: sequences then restart from the clock` });
    }
    last = Number(text.trim());
  }
  const seq = Math.max(last + 1, Math.floor(clock.now()));
  writeFileAtomic(file, `${seq}\n`, { mode: 0o600, mkdirMode: 0o700 });
  return seq;
}

/** The unsigned manifest of a change a receive made, as the replicator bundled it; null: nothing to replicate. */
export async function buildManifest(r: GitbackReplicator, projectId: string, refs: readonly RefUpdate[], pusher: Pusher, seqDir: string, clock: Clock): Promise<UnsignedManifest | null> {
  const prepared = await r.preparePush(projectId, refs);
  if (prepared.refs.length === 0) return null;
  const body: UnsignedManifest = {
    v: 1,
    kind: 'gitback-manifest',
    project_id: projectId,
    envoy: r.envoyId,
    pusher: pusher.key,
    seq: nextSeq(seqDir, pusher.key, clock),
    scope: pusher.scope,
    bundle_sha256: prepared.bundleSha256,
    refs: prepared.refs,
  };
  // what peers will refuse, refused here: a ref name git allows but the wire does not
  checkManifest({ ...body, sig: '0'.repeat(128) });
  return body;
}

/**
 * The manifest the client sent back: exactly the one handed out (same id), signed by the
 * pusher's key, which is the leaf of the chain that authorized the push. Throws E_MANIFEST_*.
 */
export function checkSigned(signed: unknown, handedOut: UnsignedManifest, pusher: Pusher, nowS: number): Manifest {
  let m: Manifest;
  try {
    m = checkManifest(signed, 'signed manifest');
  } catch (e) {
    if (e instanceof ManifestError) throw new VigoError(e.code, e.message);
    throw e;
  }
  if (manifestId(m) !== manifestId(handedOut)) {
    throw new VigoError('E_MANIFEST_MISMATCH', 'the signed manifest is not the change this push made (project, refs, bundle, envoy, pusher, seq or scope differ)', {
      hint: 'sign the manifest the daemon handed out, unchanged',
    });
  }
  const v = verifyManifest(m, pusher.chain, { projectId: handedOut.project_id, now: nowS, bundleSha256: handedOut.bundle_sha256 });
  if (!v.ok) throw new VigoError(v.code, `signed manifest refused: ${v.message}`);
  return m;
}
