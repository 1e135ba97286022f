/**
 * The signed ref-update manifest that travels with every gitback bundle between envoys
 * (docs/wire-formats.md §14, frozen by test/vectors/gitback-manifest.json).
 *
 * A chain in X-Vigo-Chain is public data: anyone who has seen one can present it. What
 * authorizes a ref move is this manifest, signed by the pusher's puddle key — the subject
 * of the chain's leaf — over `vigo/gitback-manifest/v1` ‖ 0x00 ‖ JCS(manifest without sig).
 * It names the project (no grafting into another repo), every ref's old and new tip, the
 * sha256 of the bundle the push produced, the envoy the push landed on, and a sequence
 * number that increases per (pusher, envoy) stream, and the project's scope (no replay, no rollback: see
 * src/swarm/replication.ts for the receiver's rules).
 *
 * The domain tag's kind is defined here, not in src/trust/domain.ts (another branch owns that
 * file this session); domainTag() accepts any well-formed kind, so the bytes are the same.
 */
import {
  canonicalize,
  decodePushChainHeader,
  fromHex,
  isHex64,
  isTrustError,
  parseSignedJson,
  pubkeyHex,
  sha256Hex,
  signingMessage,
  toHex,
  verifyChain,
  verifyRaw,
  type Delegation,
  type Hex,
  type PushChain,
  type Role,
  type Scope,
  type Signer,
  type TrustVerifyCode,
  type VerifyCache,
} from '../trust/index.js';

/** The signed-object kind: the domain tag is `vigo/gitback-manifest/v1` followed by NUL. */
export const MANIFEST_KIND = 'gitback-manifest';
/** Largest manifest text accepted (1024 refs of ~200 bytes each fit). */
export const MAX_MANIFEST_BYTES = 256 * 1024;
/** Most ref updates one manifest may carry. */
export const MAX_MANIFEST_REFS = 1024;
/** Longest ref name (git allows more; no real ref comes close). */
export const MAX_REF_NAME = 255;

export interface RefUpdate {
  ref: string;
  /** the tip before the push; null when the push created the ref */
  old: string | null;
  /** the tip after the push; null when the push deleted the ref */
  new: string | null;
}

export interface UnsignedManifest {
  v: 1;
  kind: 'gitback-manifest';
  project_id: Hex;
  /** envoy id (UUID) of the envoy the push landed on: the sequence stream is (pusher, envoy) */
  envoy: string;
  /** the pusher's puddle public key (64 hex), the subject of the chain's leaf token */
  pusher: Hex;
  /** ≥ 1, strictly increasing per (project, pusher, envoy) */
  seq: number;
  /** the project's distribution scope from the pusher's project.json: signed, so no relay can widen it */
  scope: Scope;
  /** sha256 of the bundle the push produced (64 hex) */
  bundle_sha256: Hex;
  /** sorted by ref, each ref once, 1..MAX_MANIFEST_REFS */
  refs: RefUpdate[];
}

export interface Manifest extends UnsignedManifest {
  sig: Hex;
}

export const MANIFEST_REFUSAL_CODES = [
  'E_MANIFEST_MALFORMED',
  'E_MANIFEST_OVERSIZE',
  'E_MANIFEST_NON_CANONICAL',
  'E_MANIFEST_WRONG_PROJECT',
  'E_MANIFEST_BUNDLE_HASH',
  'E_MANIFEST_SIGNER_NOT_LEAF',
  'E_MANIFEST_CHAIN',
  'E_MANIFEST_SIGNATURE',
  'E_MANIFEST_BUNDLE_REFS',
] as const;
export type ManifestRefusalCode = (typeof MANIFEST_REFUSAL_CODES)[number];

export class ManifestError extends Error {
  constructor(
    readonly code: ManifestRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

const KEYS = ['bundle_sha256', 'envoy', 'kind', 'project_id', 'pusher', 'refs', 'scope', 'seq', 'sig', 'v'];
const REF_KEYS = ['new', 'old', 'ref'];
const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const ENVOY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIG = /^[0-9a-f]{128}$/;
// git check-ref-format, the parts that matter on the wire: under refs/, no "..", "@{",
// control characters, space, ~ ^ : ? * [ \, no component starting with "." or ending ".lock".
const REF_BAD = /\.\.|@\{|[\x00-\x20\x7f~^:?*[\\]|\/\/|\/\.|\.lock(?:\/|$)|\/$|\.$/;

function bad(path: string, msg: string): never {
  throw new ManifestError('E_MANIFEST_MALFORMED', `${path}: ${msg}`);
}

function exact(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) bad(path, 'expected an object');
  const have = Object.keys(v).sort();
  for (const k of have) if (!keys.includes(k)) bad(`${path}.${k}`, 'unknown field');
  for (const k of keys) if (!have.includes(k)) bad(`${path}.${k}`, 'missing field');
  return v as Record<string, unknown>;
}

export function isRefName(ref: unknown): ref is string {
  return typeof ref === 'string' && ref.startsWith('refs/') && ref.length <= MAX_REF_NAME && !REF_BAD.test(ref);
}

function oidOrNull(v: unknown, path: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !OID.test(v)) bad(path, 'expected a git object id (40 or 64 lowercase hex) or null');
  return v;
}

function checkRefs(v: unknown, path: string): RefUpdate[] {
  if (!Array.isArray(v)) bad(path, 'expected an array');
  if (v.length === 0) bad(path, 'a manifest updates at least one ref');
  if (v.length > MAX_MANIFEST_REFS) bad(path, `${v.length} ref updates (at most ${MAX_MANIFEST_REFS})`);
  const out: RefUpdate[] = [];
  for (let i = 0; i < v.length; i++) {
    const at = `${path}[${i}]`;
    const o = exact(v[i], at, REF_KEYS);
    if (!isRefName(o.ref)) bad(`${at}.ref`, 'not a ref name under refs/ (git check-ref-format)');
    const u: RefUpdate = { ref: o.ref, old: oidOrNull(o.old, `${at}.old`), new: oidOrNull(o.new, `${at}.new`) };
    if (u.old === u.new) bad(at, 'old and new tip are the same: not an update');
    const prev = out[out.length - 1];
    if (prev !== undefined && !(prev.ref < u.ref)) bad(at, 'refs must be sorted by name, each ref once');
    out.push(u);
  }
  return out;
}

/** Checks every field of an untrusted manifest object and returns a fresh, typed copy. */
export function checkManifest(v: unknown, path = 'manifest'): Manifest {
  const o = exact(v, path, KEYS);
  if (o.v !== 1) bad(`${path}.v`, 'expected 1');
  if (o.kind !== MANIFEST_KIND) bad(`${path}.kind`, `expected "${MANIFEST_KIND}"`);
  if (!isHex64(o.project_id)) bad(`${path}.project_id`, 'expected 64 lowercase hex');
  if (typeof o.envoy !== 'string' || !ENVOY_ID.test(o.envoy)) bad(`${path}.envoy`, 'expected an envoy id (lowercase UUID)');
  if (!isHex64(o.pusher)) bad(`${path}.pusher`, 'expected a puddle public key (64 lowercase hex)');
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || o.seq < 1) bad(`${path}.seq`, 'expected an integer ≥ 1');
  if (o.scope !== 'swarm-wide' && o.scope !== 'members-only') bad(`${path}.scope`, 'expected "swarm-wide" or "members-only"');
  if (!isHex64(o.bundle_sha256)) bad(`${path}.bundle_sha256`, 'expected 64 lowercase hex');
  if (typeof o.sig !== 'string' || !SIG.test(o.sig)) bad(`${path}.sig`, 'expected a 128-hex-character Ed25519 signature');
  return {
    v: 1,
    kind: MANIFEST_KIND,
    project_id: o.project_id,
    envoy: o.envoy,
    pusher: o.pusher,
    seq: o.seq,
    scope: o.scope,
    bundle_sha256: o.bundle_sha256,
    refs: checkRefs(o.refs, `${path}.refs`),
    sig: o.sig,
  };
}

function unsigned(m: UnsignedManifest | Manifest): UnsignedManifest {
  return { v: m.v, kind: m.kind, project_id: m.project_id, envoy: m.envoy, pusher: m.pusher, seq: m.seq, scope: m.scope, bundle_sha256: m.bundle_sha256, refs: m.refs };
}

/** The exact bytes the pusher's signature covers. */
export function manifestSigningMessage(m: UnsignedManifest | Manifest): Uint8Array {
  return signingMessage(MANIFEST_KIND, unsigned(m));
}

/** sha256 of the canonical manifest without its sig (no tag), like every other id. */
export function manifestId(m: UnsignedManifest | Manifest): Hex {
  return sha256Hex(canonicalize(unsigned(m)));
}

/** The manifest as it travels: its canonical JSON text. */
export function manifestText(m: Manifest): string {
  return canonicalize(m);
}

/** Parses manifest text that must be exactly canonical JSON; throws ManifestError. */
export function parseManifest(text: string | Uint8Array): Manifest {
  let v: unknown;
  try {
    v = parseSignedJson(text, 'gitback manifest', MAX_MANIFEST_BYTES);
  } catch (e) {
    if (!isTrustError(e)) throw e;
    const code = e.code === 'E_OVERSIZE' ? 'E_MANIFEST_OVERSIZE' : e.code === 'E_NON_CANONICAL' ? 'E_MANIFEST_NON_CANONICAL' : 'E_MANIFEST_MALFORMED';
    throw new ManifestError(code, e.message);
  }
  return checkManifest(v);
}

/**
 * Signs a manifest with the pusher's puddle key (in the daemon: the session helper's
 * signer). The signer must be the key the manifest names as pusher.
 */
export async function signManifest(body: UnsignedManifest, signer: Signer): Promise<Manifest> {
  const pk = pubkeyHex(signer.publicKey);
  if (pk !== body.pusher) throw new ManifestError('E_MANIFEST_SIGNER_NOT_LEAF', `the signer's key ${pk} is not the manifest's pusher ${body.pusher}`);
  const sig = toHex(await signer.sign(manifestSigningMessage(body)));
  return checkManifest({ ...unsigned(body), sig });
}

export interface ManifestVerifyContext {
  /** the project id from the request URL, never from the manifest */
  projectId: Hex;
  /** unix seconds, as the trust core counts */
  now: number;
  /**
   * sha256 of the bundle that came with the manifest, or null when the bundle was rebuilt
   * by a relay (catch-up): then the caller checks the bundle's refs with checkBundleRefs.
   */
  bundleSha256: Hex | null;
  /** the receiver's effective revocations (resolveRevocations / effectiveRevocations) */
  revocations?: { revoked: ReadonlyMap<Hex, string | null>; revokedAt?: ReadonlyMap<Hex, number>; left?: ReadonlyMap<Hex, string | null> };
  /** the receiver's delegations.json for the project */
  knownDelegations?: Delegation[];
  tombstoned?: boolean;
  cache?: VerifyCache;
}

export type ManifestVerdict =
  | { ok: true; manifest: Manifest; id: Hex; role: Role }
  | { ok: false; code: ManifestRefusalCode; message: string; chainCode?: TrustVerifyCode };

const refusal = (code: ManifestRefusalCode, message: string, chainCode?: TrustVerifyCode): ManifestVerdict =>
  chainCode === undefined ? { ok: false, code, message } : { ok: false, code, message, chainCode };

/**
 * Verifies a manifest against the pusher's chain (a PushChain or the X-Vigo-Chain value).
 * Cheap checks first, signatures last; never throws on untrusted input. Order: shape,
 * project, bundle hash, chain decoding, signer = leaf subject, chain (trust core verifier
 * with the receiver's revocations), the manifest's own signature.
 */
export function verifyManifest(manifest: unknown, chain: PushChain | string, ctx: ManifestVerifyContext): ManifestVerdict {
  let m: Manifest;
  try {
    m = checkManifest(manifest);
  } catch (e) {
    if (e instanceof ManifestError) return refusal(e.code, e.message);
    throw e;
  }
  if (m.project_id !== ctx.projectId) return refusal('E_MANIFEST_WRONG_PROJECT', `the manifest is for project ${m.project_id}, this request is for ${ctx.projectId}`);
  if (ctx.bundleSha256 !== null && m.bundle_sha256 !== ctx.bundleSha256) {
    return refusal('E_MANIFEST_BUNDLE_HASH', `the bundle's sha256 is ${ctx.bundleSha256}, the manifest signed ${m.bundle_sha256}`);
  }
  let pc: PushChain;
  try {
    pc = typeof chain === 'string' ? decodePushChainHeader(chain) : chain;
  } catch (e) {
    if (isTrustError(e)) return refusal('E_MANIFEST_CHAIN', `X-Vigo-Chain: ${e.message}`, e.code as TrustVerifyCode);
    throw e;
  }
  const leaf = pc.chain[pc.chain.length - 1];
  if (leaf !== undefined && leaf.subject !== m.pusher) {
    return refusal('E_MANIFEST_SIGNER_NOT_LEAF', `the manifest is signed as ${m.pusher}, but the chain's leaf was issued to ${leaf.subject}`);
  }
  const r = verifyChain({
    projectId: ctx.projectId,
    chain: pc.chain,
    delegations: pc.delegations,
    revoked: ctx.revocations?.revoked ?? new Map(),
    ...(ctx.revocations?.revokedAt === undefined ? {} : { revokedAt: ctx.revocations.revokedAt }),
    ...(ctx.revocations?.left === undefined ? {} : { left: ctx.revocations.left }),
    now: ctx.now,
    presenter: m.pusher,
    ...(ctx.tombstoned === undefined ? {} : { tombstoned: ctx.tombstoned }),
    ...(ctx.knownDelegations === undefined ? {} : { knownDelegations: ctx.knownDelegations }),
    ...(ctx.cache === undefined ? {} : { cache: ctx.cache }),
  });
  if (!r.ok) return refusal('E_MANIFEST_CHAIN', `the pusher's chain does not verify: ${r.message}`, r.code);
  if (!verifyRaw(fromHex(m.pusher), manifestSigningMessage(m), fromHex(m.sig))) {
    return refusal('E_MANIFEST_SIGNATURE', `the manifest's signature does not verify under the pusher's key ${m.pusher}`);
  }
  return { ok: true, manifest: m, id: manifestId(m), role: r.role };
}

/**
 * The refs a bundle carries must be exactly the tips its manifests end at (applied in
 * order; deleted refs are absent). Catches a valid manifest shipped with other refs.
 */
export function checkBundleRefs(manifests: readonly Manifest[], bundleRefs: Readonly<Record<string, string>>): { ok: true } | { ok: false; code: 'E_MANIFEST_BUNDLE_REFS'; message: string } {
  const want = new Map<string, string | null>();
  for (const m of manifests) for (const u of m.refs) want.set(u.ref, u.new);
  for (const [ref, tip] of Object.entries(bundleRefs)) {
    const w = want.get(ref);
    if (w === undefined) return { ok: false, code: 'E_MANIFEST_BUNDLE_REFS', message: `the bundle carries ${ref}, which no manifest names` };
    if (w !== tip) return { ok: false, code: 'E_MANIFEST_BUNDLE_REFS', message: `the bundle has ${ref} at ${tip}, the manifest signed ${w ?? 'its deletion'}` };
  }
  for (const [ref, tip] of want) {
    if (tip !== null && bundleRefs[ref] === undefined) return { ok: false, code: 'E_MANIFEST_BUNDLE_REFS', message: `the manifest moves ${ref} to ${tip}, but the bundle does not carry it` };
  }
  return { ok: true };
}
