// Runs one conformance fixture through the public trust API and reduces the outcome to
// what the vector files freeze: on success a small summary, on failure the error code.
import {
  decodePushChainHeader,
  envelopeId,
  fromHex,
  parseInvitation,
  parseSignedJson,
  parseStrictJson,
  tokenId,
  TrustError,
  verifyChain,
  verifyLeave,
  verifyNameClaim,
  effectiveRevocations,
  admitRevoke,
  verifyPushChainHeader,
  verifyRaw,
  verifyRevoke,
  type Delegation,
  type Token,
  type VerifyResult,
  VerifyCache,
} from '../../src/trust/index.js';

export type Op =
  | 'verifyChain'
  | 'verifyPushChainHeader'
  | 'decodePushChainHeader'
  | 'verifyRevoke'
  | 'verifyLeave'
  | 'effectiveRevocations'
  | 'admitRevoke'
  | 'verifyNameClaim'
  | 'parseInvitation'
  | 'parseSignedJson'
  | 'parseStrictJson'
  | 'verifyRaw';

export interface ChainInput {
  project_id: string;
  chain: unknown;
  delegations: unknown;
  revoked: [string, string | null][];
  now: number;
  presenter: string;
  tombstoned?: boolean;
  known_delegations?: unknown;
  /** token id → issued_at of the latest standing revoke naming it */
  revoked_at?: [string, number][];
  /** token ids given up by verified leaves */
  left?: [string, string | null][];
}

export interface Fixture {
  name: string;
  op: Op;
  /** What the fixture shows; for failures, the rule it breaks. */
  description: string;
  input: Record<string, unknown>;
  expect: Record<string, unknown>;
}

export type Outcome = Record<string, unknown>;

function chainOutcome(r: VerifyResult): Outcome {
  return r.ok ? { ok: true, role: r.role, depth: r.depth, founder: r.founder, leaf_id: tokenId(r.leaf) } : { ok: false, code: r.code };
}

/** Large inputs are stored as `{ prefix, repeat, times, suffix }` to keep the vector files small. */
export interface Repeated {
  prefix: string;
  repeat: string;
  times: number;
  suffix: string;
}

function expand(v: unknown): string {
  if (typeof v === 'string') return v;
  const r = v as Repeated;
  return r.prefix + r.repeat.repeat(r.times) + r.suffix;
}

function text(input: Record<string, unknown>): string | Uint8Array {
  return typeof input.bytes_hex === 'string' ? fromHex(input.bytes_hex) : expand(input.text);
}

function run(f: Fixture, cache: VerifyCache | undefined): Outcome {
  const i = f.input;
  switch (f.op) {
    case 'verifyChain': {
      const c = i as unknown as ChainInput;
      return chainOutcome(
        verifyChain({
          projectId: c.project_id,
          chain: c.chain as Token[],
          delegations: c.delegations as Delegation[],
          revoked: new Map(c.revoked),
          now: c.now,
          presenter: c.presenter,
          ...(c.revoked_at === undefined ? {} : { revokedAt: new Map(c.revoked_at) }),
          ...(c.left === undefined ? {} : { left: new Map(c.left) }),
          ...(c.tombstoned === undefined ? {} : { tombstoned: c.tombstoned }),
          ...(c.known_delegations === undefined ? {} : { knownDelegations: c.known_delegations as Delegation[] }),
          ...(cache === undefined ? {} : { cache }),
        }),
      );
    }
    case 'verifyPushChainHeader': {
      const c = i as unknown as ChainInput & { header: string };
      return chainOutcome(
        verifyPushChainHeader(expand(c.header), {
          projectId: c.project_id,
          revoked: new Map(c.revoked),
          now: c.now,
          presenter: c.presenter,
          ...(cache === undefined ? {} : { cache }),
        }),
      );
    }
    case 'decodePushChainHeader': {
      const pc = decodePushChainHeader(expand(i.header));
      return { ok: true, chain_ids: pc.chain.map(tokenId), delegations: pc.delegations.length };
    }
    case 'verifyRevoke': {
      const known = i.known_delegations === undefined ? {} : { knownDelegations: i.known_delegations as Delegation[] };
      return { ok: true, id: envelopeId(verifyRevoke(i.envelope, i.project_id as string, i.now as number, known)) };
    }
    case 'verifyLeave': {
      const known = i.known_delegations === undefined ? {} : { knownDelegations: i.known_delegations as Delegation[] };
      return { ok: true, id: envelopeId(verifyLeave(i.envelope, i.project_id as string, i.now as number, known)) };
    }
    case 'effectiveRevocations': {
      const known = i.known_delegations === undefined ? {} : { knownDelegations: i.known_delegations as Delegation[] };
      const set = effectiveRevocations(i.project_id as string, i.now as number, i.revokes as unknown[], i.leaves as unknown[], known);
      return {
        ok: true,
        revoked: [...set.revoked.keys()].sort(),
        left: [...set.left.keys()].sort(),
        standing: set.standing,
        refused: set.refused.map((r) => ({ id: r.id, code: r.code })),
      };
    }
    case 'admitRevoke': {
      const held = effectiveRevocations(i.project_id as string, i.now as number, i.held_revokes as unknown[], i.held_leaves as unknown[]);
      return { ok: true, id: envelopeId(admitRevoke(i.envelope, i.project_id as string, i.now as number, held)) };
    }
    case 'verifyNameClaim':
      return { ok: true, id: envelopeId(verifyNameClaim(i.claim)) };
    case 'parseInvitation': {
      const inv = parseInvitation(expand(i.text));
      return { ok: true, project_id: inv.project.project_id, chain_ids: inv.chain.map(tokenId), delegations: inv.delegations.length };
    }
    case 'parseSignedJson':
      parseSignedJson(text(i), 'fixture');
      return { ok: true };
    case 'parseStrictJson':
      parseStrictJson(text(i), { what: 'fixture' });
      return { ok: true };
    case 'verifyRaw':
      return { ok: verifyRaw(fromHex(i.public_key as string), fromHex(i.msg as string), fromHex(i.sig as string)) };
  }
}

/** The fixture's outcome; thrown TrustErrors become `{ ok: false, code }`, anything else propagates. */
export function runFixture(f: Fixture, cache?: VerifyCache): Outcome {
  try {
    return run(f, cache);
  } catch (e) {
    if (e instanceof TrustError) return { ok: false, code: e.code };
    throw e;
  }
}
