/**
 * The claim endpoint of puddle pairing (issue 12 items 3–5): `POST /swarm/puddle/pair/claim`
 * on the agent's swarm transport. It runs as root in the agent. A claim names the user
 * whose offer it claims; the offer is that user's `~/.vigo-puddle/pair.pending`, written by
 * `vigo swarm puddle pair` (or `rekey-pair`). The decision is `decideClaim`
 * (src/wire/puddle-pair.ts, pure); this file does the I/O around it:
 *
 * - a user controls their home, so everything there is read and written through directory
 *   fds (src/platform/fsat.ts): the puddle directory is opened component by component with
 *   O_NOFOLLOW (a symlink is followed only when root owns it and the directory holding it,
 *   e.g. /home → /data/home), files with O_NOFOLLOW, checked to be regular files owned by
 *   the user, at most 64 KiB;
 * - the offer is rewritten (a wrong code counted, the offer burned) atomically through the
 *   same fd: a temp name, fchown to the user, fchmod 0600, fsync, renameat, fsync of the
 *   directory; claims for one user are decided one at a time (no double burn);
 * - limits: body ≤ MAX_CLAIM_BYTES, 10 s per request, a token bucket per peer envoy id.
 *
 * The answer carries identity.wrapped, identity.salt and identity.pub as they are on disk
 * and the name claim: the key never leaves its wrapping, and the passphrase is never here.
 */
import { fsyncSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isHex64, type Hex } from '../trust/index.js';
import { closeFd, fchmodFd, fchownFd, fstatFd, fstatat, openat, openDirNoFollow, O, renameat, unlinkat, withFd } from '../platform/fsat.js';
import type { Clock } from '../platform/clock.js';
import {
  ClaimRateLimit,
  decideClaim,
  encodeAnswer,
  MAX_CLAIM_BYTES,
  offerText,
  PAIR_CLAIM_PATH,
  PAIR_OFFER_FILE,
  PairWireError,
  parseClaim,
  parseOffer,
  type PairAnswer,
  type PairOffer,
} from '../wire/puddle-pair.js';
import { SwarmError, type SwarmPeer, type SwarmRequest, type SwarmResponse, type SwarmTransport } from './transport.js';

export const PAIR_REQUEST_TIMEOUT_MS = 10_000;
const MAX_FILE_BYTES = 64 * 1024;

export interface PairUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface PairEndpointOptions {
  transport: SwarmTransport;
  /** this envoy's id (its certificate's CN) */
  selfEnvoy: string;
  clock: Clock;
  /** the local user named `name` (the agent's passwd file), or null */
  user: (name: string) => PairUser | null;
  /** this envoy's puddle gate, read at each claim (the assignment can change) */
  gateOpen: () => boolean;
  /** whether the peer envoy is one this envoy knows (presence announce heard, a learned member) */
  peerKnown: (envoyId: string) => boolean;
  rate?: ClaimRateLimit;
  log?: (line: string) => void;
}

/** A file in the user's puddle dir, read through `dirfd` without following links. */
function readOwned(dirfd: number, name: string, uid: number): Buffer | null {
  let fd: number;
  try {
    fd = openat(dirfd, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new SwarmError(409, 'E_PAIR_UNSAFE', `${name} in the user's puddle directory is a symlink; refusing to follow it`);
    throw e;
  }
  return withFd(fd, (f) => {
    const st = fstatFd(f);
    if (st.kind !== 'file') throw new SwarmError(409, 'E_PAIR_UNSAFE', `${name} in the user's puddle directory is not a regular file`);
    if (st.uid !== uid) throw new SwarmError(409, 'E_PAIR_UNSAFE', `${name} in the user's puddle directory is owned by uid ${st.uid}, not the user`);
    if (st.size > MAX_FILE_BYTES) throw new SwarmError(409, 'E_PAIR_UNSAFE', `${name} in the user's puddle directory is larger than ${MAX_FILE_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(f, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  });
}

/** Writes `data` as `name` in `dirfd` atomically, owned by the user, mode 0600. */
function writeOwned(dirfd: number, name: string, data: string, user: PairUser): void {
  const tmp = `.${name}.tmp-${process.pid}-${Math.random().toString(16).slice(2, 10)}`;
  const fd = openat(dirfd, tmp, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0o600);
  try {
    fchownFd(fd, user.uid, user.gid);
    fchmodFd(fd, 0o600);
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeFd(fd);
    try {
      unlinkat(dirfd, tmp);
    } catch {
      /* gone already */
    }
    throw e;
  }
  closeFd(fd);
  renameat(dirfd, tmp, dirfd, name);
  fsyncSync(dirfd);
}

/** Opens `<home>/.vigo-puddle` as a directory fd, or null when the user has none. */
export function openPuddleDirAt(user: PairUser): number | null {
  const dir = join(user.home, '.vigo-puddle');
  let fd: number;
  try {
    // a link on the way is followed only when root owns it and the directory it stands in
    fd = openDirNoFollow(dir, { followSymlink: (_p, owner, holder) => owner === 0 && holder.uid === 0 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw new SwarmError(409, 'E_PAIR_UNSAFE', `${dir}: a symlink on the way is not root's; refusing to follow it`);
    throw e;
  }
  const st = fstatFd(fd);
  if (st.uid !== user.uid) {
    closeFd(fd);
    throw new SwarmError(409, 'E_PAIR_UNSAFE', `${dir} is owned by uid ${st.uid}, not by ${user.name}`);
  }
  return fd;
}

export class PairEndpoint {
  readonly rate: ClaimRateLimit;
  /** outcomes counted by code, for the agent's log and the tests */
  readonly counts = new Map<string, number>();
  private readonly busy = new Map<string, Promise<unknown>>();
  private readonly log: (line: string) => void;

  constructor(private readonly o: PairEndpointOptions) {
    this.rate = o.rate ?? new ClaimRateLimit();
    this.log = o.log ?? (() => {});
    o.transport.route('POST', PAIR_CLAIM_PATH, (p, r) => this.onClaim(p, r), { bodyLimitBytes: MAX_CLAIM_BYTES, requestTimeoutMs: PAIR_REQUEST_TIMEOUT_MS });
  }

  private count(code: string): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  private async onClaim(peer: SwarmPeer, req: SwarmRequest): Promise<SwarmResponse> {
    if (!this.rate.take(peer.envoyId, this.o.clock.now())) {
      this.count('E_PAIR_RATE');
      throw new SwarmError(429, 'E_PAIR_RATE', `too many pair claims from envoy ${peer.envoyId}; wait a minute`);
    }
    let claim;
    try {
      claim = parseClaim(req.body);
    } catch (e) {
      this.count('E_PAIR_BAD_REQUEST');
      throw new SwarmError(400, 'E_PAIR_BAD_REQUEST', e instanceof PairWireError ? e.message : String(e));
    }
    const user = this.o.user(claim.user);
    // one claim per user at a time: two claims racing must not both find the offer open
    const prev = this.busy.get(claim.user) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.decide(peer, claim, user));
    this.busy.set(claim.user, run);
    try {
      return await run;
    } finally {
      if (this.busy.get(claim.user) === run) this.busy.delete(claim.user);
    }
  }

  private decide(peer: SwarmPeer, claim: ReturnType<typeof parseClaim>, user: PairUser | null): SwarmResponse {
    const nowS = Math.floor(this.o.clock.now() / 1000);
    const dirfd = user === null || user.uid === 0 ? null : openPuddleDirAt(user);
    try {
      let offer: PairOffer | null = null;
      if (dirfd !== null && user !== null) {
        const text = readOwned(dirfd, PAIR_OFFER_FILE, user.uid);
        if (text !== null) {
          try {
            offer = parseOffer(text, `${user.home}/.vigo-puddle/${PAIR_OFFER_FILE}`);
          } catch (e) {
            this.log(`puddle pair: ${e instanceof Error ? e.message : String(e)}; treated as no offer`);
          }
        }
      }
      const v = decideClaim({
        offer,
        nowS,
        claim,
        peerEnvoy: peer.envoyId,
        selfEnvoy: this.o.selfEnvoy,
        peerKnown: this.o.peerKnown(peer.envoyId),
        gateOpen: this.o.gateOpen(),
        peerGateOpen: null,
        isRetired: (pub: Hex) => dirfd !== null && isHex64(pub) && fstatat(dirfd, 'retired') !== null && retiredExists(dirfd, pub),
      });
      if (!v.ok) {
        if (v.offer !== null && dirfd !== null && user !== null) writeOwned(dirfd, PAIR_OFFER_FILE, offerText(v.offer), user);
        this.count(v.code);
        this.log(`puddle pair: refused a claim for ${claim.user} from envoy ${peer.envoyId}: ${v.code}`);
        throw new SwarmError(v.status, v.code, v.message);
      }
      const u = user as PairUser;
      const fd = dirfd as number;
      const wrapped = readOwned(fd, 'identity.wrapped', u.uid);
      const salt = readOwned(fd, 'identity.salt', u.uid);
      const pub = readOwned(fd, 'identity.pub', u.uid);
      if (wrapped === null || salt === null || pub === null) throw new SwarmError(409, 'E_PAIR_NO_IDENTITY', `user ${u.name} has an offer but no complete identity here`);
      const pubHex = pub.toString('utf8').trim();
      if (pubHex !== v.offer.pubkey) throw new SwarmError(409, 'E_PAIR_STALE_OFFER', `the offer was made for ${v.offer.pubkey}, but identity.pub is now ${pubHex}; run \`vigo swarm puddle pair\` again`);
      if (salt.length !== 16) throw new SwarmError(409, 'E_PAIR_NO_IDENTITY', `identity.salt of ${u.name} is not 16 bytes`);
      const text = wrapped.toString('utf8');
      const kdf = kdfOf(text);
      const nameClaim = readOwned(fd, 'name-claim.json', u.uid);
      const answer: PairAnswer = {
        v: 1,
        kind: 'puddle-pair-answer',
        purpose: claim.purpose,
        pubkey: pubHex,
        wrapped: text,
        salt: salt.toString('hex'),
        kdf,
        name_claim: nameClaim === null ? null : nameClaim.toString('utf8'),
      };
      // burned before the answer leaves: a crash after this loses one offer, never reuses one
      writeOwned(fd, PAIR_OFFER_FILE, offerText(v.offer), u);
      this.count('ok');
      this.log(`puddle pair: ${claim.purpose} by envoy ${peer.envoyId} for ${u.name} (offer ${v.offer.offer_id}) answered; offer burned`);
      return { status: 200, headers: { 'content-type': 'application/json' }, body: encodeAnswer(answer) };
    } finally {
      if (dirfd !== null) closeFd(dirfd);
    }
  }
}

function retiredExists(dirfd: number, pub: Hex): boolean {
  try {
    const rfd = openat(dirfd, 'retired', O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
    return withFd(rfd, (f) => fstatat(f, `${pub}.wrapped`)?.kind === 'file');
  } catch {
    return false;
  }
}

function kdfOf(wrappedText: string): PairAnswer['kdf'] {
  try {
    const w = JSON.parse(wrappedText) as { kdf?: { alg?: unknown; m_kib?: unknown; t?: unknown; p?: unknown } };
    const k = w.kdf;
    if (k && k.alg === 'argon2id' && typeof k.m_kib === 'number' && typeof k.t === 'number' && typeof k.p === 'number') return { alg: 'argon2id', m_kib: k.m_kib, t: k.t, p: k.p };
  } catch {
    /* below */
  }
  throw new SwarmError(409, 'E_PAIR_NO_IDENTITY', 'identity.wrapped does not name its KDF parameters');
}
