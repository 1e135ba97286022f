// Envelopes for the gossip tests, signed with the fixture project's real keys (founder →
// alice admin → bob member; alice is also an admin of another founder's project), and an
// in-memory envelope store with the gossip store's contract. Ed25519 is deterministic, so
// every envelope here is the same bytes every run.
import {
  decodePushChainHeader,
  envelopeId,
  mintLeave,
  mintRevoke,
  resolveRevocations,
  signingMessage,
  toHex,
  tokenId,
  type Delegation,
  type Hex,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
} from '../../src/trust/index.js';
import type { EnvelopeGossipStore, EnvelopeKind } from '../../src/swarm/index.js';
import { NOW, pk, projectFixture, sha, signer, type ProjectFixture } from './fixtures.js';

/** Envelopes kept as verified objects (the machine only puts what it verified), per project. */
export class MemoryGossipStore implements EnvelopeGossipStore {
  readonly held = new Map<Hex, Map<Hex, { kind: EnvelopeKind; env: RevokeEnvelope | LeaveEnvelope }>>();
  puts = 0;
  private readonly memo = new Map<Hex, { size: number; value: { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet } }>();
  constructor(private readonly known: Record<Hex, Delegation[]> = {}) {}
  load(pid: Hex): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet } {
    const m = this.held.get(pid) ?? new Map();
    const hit = this.memo.get(pid);
    if (hit !== undefined && hit.size === m.size) return hit.value;
    const revokes = [...m.values()].filter((e) => e.kind === 'revoke').map((e) => e.env as RevokeEnvelope);
    const leaves = [...m.values()].filter((e) => e.kind === 'leave').map((e) => e.env as LeaveEnvelope);
    const value = { revokes, leaves, set: resolveRevocations(revokes, leaves) };
    this.memo.set(pid, { size: m.size, value });
    return value;
  }
  put(kind: EnvelopeKind, env: RevokeEnvelope | LeaveEnvelope): void {
    const m = this.held.get(env.project_id) ?? new Map();
    this.held.set(env.project_id, m);
    const id = envelopeId(env);
    if (!m.has(id)) {
      m.set(id, { kind, env });
      this.puts++;
    }
  }
  delegations(pid: Hex): Delegation[] {
    return this.known[pid] ?? [];
  }
  ids(pid: Hex): Hex[] {
    return [...(this.held.get(pid)?.keys() ?? [])].sort();
  }
}

export interface GossipFixture extends ProjectFixture {
  bobToken: Hex;
  aliceToken: Hex;
  /** alice (admin) revokes bob, reason "laptop lost" */
  revokeBob: RevokeEnvelope;
  /** bob gives up his token */
  bobLeaves: LeaveEnvelope;
  /** the founder revokes alice (a second earlier than aliceRevokesLate) */
  revokeAlice: RevokeEnvelope;
  /** alice revokes a token after she was revoked: must not stand */
  aliceRevokesLate: RevokeEnvelope;
  /** alice revokes a token no envoy has seen yet (out of order delivery) */
  revokeUnseen: RevokeEnvelope;
  /** forged: bob, a member, signs a revoke of alice */
  forgedByMember: RevokeEnvelope;
  /** alice's valid revoke in the OTHER project */
  otherProject: RevokeEnvelope;
  /** revokeBob with its reason changed after signing */
  badSignature: RevokeEnvelope;
  /** alice signs a leave in bob's name */
  leaveNotOwn: LeaveEnvelope;
}

/** Signs `body` (a revoke or leave without sig) with `who`'s key: how a forger would. */
async function forge<T extends RevokeEnvelope | LeaveEnvelope>(who: string, body: Omit<T, 'sig'>): Promise<T> {
  const sig = await signer(who).sign(signingMessage(body.kind, body));
  return { ...body, sig: toHex(sig) } as T;
}

function withoutSig<T extends { sig: Hex }>(e: T): Omit<T, 'sig'> {
  const { sig: _sig, ...rest } = e;
  return rest;
}

let cached: Promise<GossipFixture> | undefined;

export function gossipFixture(): Promise<GossipFixture> {
  cached ??= (async () => {
    const f = await projectFixture();
    const aliceChain = [f.root, f.alice];
    const bobChain = [f.root, f.alice, f.bob];
    const bobToken = tokenId(f.bob);
    const aliceToken = tokenId(f.alice);
    const revokeBob = await mintRevoke(signer('alice'), aliceChain, [], bobToken, 'laptop lost', NOW);
    const bobLeaves = await mintLeave(signer('bob'), bobChain, [], NOW + 5);
    const revokeAlice = await mintRevoke(signer('founder'), [f.root], [], aliceToken, 'left the company', NOW + 10);
    const aliceRevokesLate = await mintRevoke(signer('alice'), aliceChain, [], sha('token/late'), 'too late', NOW + 20);
    const revokeUnseen = await mintRevoke(signer('alice'), aliceChain, [], sha('token/not-yet-seen'), 'revoked before it arrived', NOW + 1);
    const forgedByMember = await forge<RevokeEnvelope>('bob', { ...withoutSig(revokeBob), token_id: aliceToken, signer: pk('bob'), signer_chain: bobChain, reason: 'coup' });
    const otherChain = decodePushChainHeader(f.otherAliceChain).chain;
    const otherProject = await mintRevoke(signer('alice'), otherChain, [], bobToken, 'wrong project', NOW);
    const badSignature: RevokeEnvelope = { ...revokeBob, reason: 'edited after signing' };
    const leaveNotOwn = await forge<LeaveEnvelope>('alice', { ...withoutSig(bobLeaves) });
    return { ...f, bobToken, aliceToken, revokeBob, bobLeaves, revokeAlice, aliceRevokesLate, revokeUnseen, forgedByMember, otherProject, badSignature, leaveNotOwn };
  })();
  return cached;
}
