/**
 * Invitations (what `project invite` prints) and the PushChain carried in X-Vigo-Chain.
 * Neither is signed itself; they carry signed tokens and delegations. An invitation is
 * human-facing pretty JSON, so key order and whitespace are free, but every literal must
 * be in canonical form and keys may not repeat. The header is the canonical JSON, exactly.
 */
import { TrustError } from './errors.js';
import { preview, type Hex } from './hex.js';
import { canonicalize } from './canonical.js';
import { parseCanonicalJson, parseStrictJson } from './json.js';
import { projectId as computeProjectId, isValidHandle } from './names.js';
import { array, exactObject, hex64, literal, malformed } from './schema.js';
import { checkToken, MAX_CHAIN_LEN, type TokenChain } from './token.js';
import { checkDelegation, DELEGATION_MAX_LEN, type Delegation } from './delegation.js';
import { verifyChain, type VerifyInput, type VerifyResult } from './verify.js';

export type Scope = 'swarm-wide' | 'members-only';

export interface ProjectInfo {
  project_id: Hex;
  handle: string;
  founder: Hex; // the genesis founder: project_id = sha256(founder ‖ handle)
  scope: Scope;
}

export interface Invitation {
  version: 1;
  project: ProjectInfo;
  chain: TokenChain;
  delegations: Delegation[];
}

export interface PushChain {
  v: 1;
  kind: 'push-chain';
  chain: TokenChain;
  delegations: Delegation[];
}

/** Largest invitation text accepted (a full chain and delegation list is ~12 KiB). */
export const MAX_INVITATION_BYTES = 64 * 1024;
/** Largest X-Vigo-Chain header value accepted. */
export const MAX_PUSH_CHAIN_HEADER = 64 * 1024;
/** Nesting limit for signed containers: envelope → chain → token is depth 3. */
export const SIGNED_MAX_DEPTH = 8;

function checkChain(v: unknown, path: string): TokenChain {
  const a = array(v, path);
  if (a.length > MAX_CHAIN_LEN) throw new TrustError('E_CHAIN_TOO_LONG', `${path}: ${a.length} tokens (at most ${MAX_CHAIN_LEN})`);
  return a.map((t, i) => checkToken(t, `${path}[${i}]`));
}

function checkDelegationList(v: unknown, path: string): Delegation[] {
  const a = array(v, path);
  if (a.length > DELEGATION_MAX_LEN) throw new TrustError('E_DELEGATION_CAP', `${path}: ${a.length} delegations (at most ${DELEGATION_MAX_LEN})`);
  return a.map((d, i) => checkDelegation(d, `${path}[${i}]`));
}

export function checkProjectInfo(v: unknown, path = 'project'): ProjectInfo {
  const o = exactObject(v, path, ['project_id', 'handle', 'founder', 'scope']);
  if (!isValidHandle(o.handle)) malformed(`${path}.handle`, `not a valid handle: ${preview(o.handle)}`);
  if (o.scope !== 'swarm-wide' && o.scope !== 'members-only') malformed(`${path}.scope`, `expected "swarm-wide" or "members-only", got ${preview(o.scope)}`);
  const info: ProjectInfo = {
    project_id: hex64(o.project_id, `${path}.project_id`),
    handle: o.handle,
    founder: hex64(o.founder, `${path}.founder`),
    scope: o.scope,
  };
  if (computeProjectId(Buffer.from(info.founder, 'hex'), info.handle) !== info.project_id) {
    malformed(`${path}.project_id`, 'is not sha256(founder ‖ handle)');
  }
  return info;
}

export function checkInvitation(v: unknown, path = 'invitation'): Invitation {
  const o = exactObject(v, path, ['version', 'project', 'chain', 'delegations']);
  return {
    version: literal(o.version, `${path}.version`, 1),
    project: checkProjectInfo(o.project, `${path}.project`),
    chain: checkChain(o.chain, `${path}.chain`),
    delegations: checkDelegationList(o.delegations, `${path}.delegations`),
  };
}

/** Strict: duplicate keys and malformed fields are E_MALFORMED naming the field; non-canonical literals E_NON_CANONICAL. */
export function parseInvitation(text: string): Invitation {
  const v = parseStrictJson(text, { what: 'invitation', maxBytes: MAX_INVITATION_BYTES, maxDepth: SIGNED_MAX_DEPTH, canonicalLiterals: true });
  return checkInvitation(v);
}

/** The invitation as printed by `project invite`: 2-space indented JSON and a newline. */
export function formatInvitation(inv: Invitation): string {
  const checked = checkInvitation(inv);
  return `${JSON.stringify(checked, null, 2)}\n`;
}

/**
 * Verifies an invitation for the puddle that received it (`project join`): the chain must
 * anchor to the project named in the invitation and grant the presenter.
 */
export function verifyInvitation(inv: Invitation, opts: Omit<VerifyInput, 'projectId' | 'chain' | 'delegations'>): VerifyResult {
  return verifyChain({ ...opts, projectId: inv.project.project_id, chain: inv.chain, delegations: inv.delegations });
}

// --- X-Vigo-Chain ---------------------------------------------------------------------

export function encodePushChainHeader(chain: TokenChain, delegations: Delegation[]): string {
  const pc: PushChain = { v: 1, kind: 'push-chain', chain: checkChain(chain, 'chain'), delegations: checkDelegationList(delegations, 'delegations') };
  return Buffer.from(canonicalize(pc), 'utf8').toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function fromBase64url(s: string): Buffer {
  const b = BASE64URL.test(s) && s.length % 4 !== 1 ? Buffer.from(s, 'base64url') : null;
  // Re-encoding must give the input back: no padding, no stray bits, one spelling per value.
  if (b === null || b.toString('base64url') !== s) throw new TrustError('E_MALFORMED', 'X-Vigo-Chain: not unpadded base64url');
  return b;
}

/**
 * Decodes the header: base64url of the canonical PushChain JSON (E_NON_CANONICAL when the
 * decoded text is not canonical). Older senders put a bare token-chain JSON array there,
 * either as is or base64url-encoded; that decodes to a PushChain with no delegations.
 */
export function decodePushChainHeader(value: string): PushChain {
  const what = 'X-Vigo-Chain';
  if (typeof value !== 'string') malformed(what, 'expected a header string');
  if (value.length > MAX_PUSH_CHAIN_HEADER) throw new TrustError('E_OVERSIZE', `${what}: ${value.length} bytes (at most ${MAX_PUSH_CHAIN_HEADER})`);
  const v = value.trim();
  const bytes = v.startsWith('[') ? Buffer.from(v, 'utf8') : fromBase64url(v);
  const opts = { what, maxBytes: MAX_PUSH_CHAIN_HEADER, maxDepth: SIGNED_MAX_DEPTH };
  if (bytes[0] === 0x5b) {
    const chain = checkChain(parseStrictJson(bytes, { ...opts, canonicalLiterals: true }), `${what}.chain`);
    return { v: 1, kind: 'push-chain', chain, delegations: [] };
  }
  const o = exactObject(parseCanonicalJson(bytes, opts), what, ['v', 'kind', 'chain', 'delegations']);
  return {
    v: literal(o.v, `${what}.v`, 1),
    kind: literal(o.kind, `${what}.kind`, 'push-chain'),
    chain: checkChain(o.chain, `${what}.chain`),
    delegations: checkDelegationList(o.delegations, `${what}.delegations`),
  };
}

/** Decodes X-Vigo-Chain and verifies it; never throws (decode failures are results too). */
export function verifyPushChainHeader(value: string, opts: Omit<VerifyInput, 'chain' | 'delegations'>): VerifyResult {
  let pc: PushChain;
  try {
    pc = decodePushChainHeader(value);
  } catch (e) {
    if (e instanceof TrustError) return { ok: false, code: e.code as Extract<VerifyResult, { ok: false }>['code'], message: e.message };
    throw e;
  }
  return verifyChain({ ...opts, chain: pc.chain, delegations: pc.delegations });
}

/**
 * Parses a signed object (envelope, name claim, token file) that must arrive as its exact
 * canonical JSON text; see docs/trust.md "Signed objects as text".
 */
export function parseSignedJson(text: string | Uint8Array, what: string, maxBytes = 256 * 1024): unknown {
  return parseCanonicalJson(text, { what, maxBytes, maxDepth: SIGNED_MAX_DEPTH });
}
