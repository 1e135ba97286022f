// Builds test/vectors/gitback-envelope-gossip.json and runs its fixtures. The checked-in
// JSON is the specification of the envelope gossip bodies and the digest: the test loads it
// as it is and never regenerates it. Regenerate only after a deliberate format change:
// `npx tsc -p tsconfig.json && node dist/test/swarm/gossip-vectors.js`, then review the
// diff and docs/wire-formats.md §15.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRng } from '../../src/platform/clock.js';
import { envelopeId, type Hex } from '../../src/trust/index.js';
import {
  DIGEST_DOMAIN,
  EnvelopeGossip,
  GossipWireError,
  ProjectPeers,
  computeDigest,
  encodeEnvelopePost,
  gossipPath,
  parseAllAnswer,
  parseBucketQuery,
  parseDigest,
  parseEnvelopePost,
  type DigestEntry,
  type EnvelopeKind,
} from '../../src/swarm/index.js';
import { serialize, vectorDir } from '../vectors/generate.js';
import { NOW } from './fixtures.js';
import { gossipFixture, MemoryGossipStore } from './gossip-fixtures.js';

export const GOSSIP_FILE = 'gitback-envelope-gossip.json';
/** the receiving envoy's clock in the fixtures (ms) */
export const GOSSIP_NOW_MS = (NOW + 60) * 1000;

export interface ReceiveFixture {
  name: string;
  route_project_id: Hex;
  kind: EnvelopeKind;
  envelopes: unknown[];
  expect: { status: number; accepted: Hex[]; refused: string[] };
}

export interface BodyFixture {
  name: string;
  parser: 'post' | 'digest' | 'all' | 'buckets';
  project_id?: Hex;
  /** a long text is stored as prefix + repeat × times + suffix */
  text: string | { prefix: string; repeat: string; times: number; suffix: string };
  code: string;
}

export interface GossipVectors {
  digest_domain: string;
  now_ms: number;
  digests: Array<{ name: string; project_id: Hex; entries: DigestEntry[]; preimage: string; digest: unknown; bucketed: unknown }>;
  post: { path: string; body: string; answer: string };
  all: { path: string; query: string; body: string };
  receive: ReceiveFixture[];
  bodies: BodyFixture[];
}

/** Runs one receive fixture on a fresh envoy that holds the project and nothing else. */
export function runReceive(fx: ReceiveFixture, pid: Hex): { status: number; accepted: Hex[]; refused: string[] } {
  const m = new EnvelopeGossip(new MemoryGossipStore(), new ProjectPeers({ selfHost: 'self' }), () => [pid], seededRng(1));
  const r = m.receive(GOSSIP_NOW_MS, 'envoy-peer', fx.route_project_id, fx.kind, fx.envelopes, Buffer.byteLength(JSON.stringify(fx.envelopes)));
  return { status: r.status, accepted: r.answer.accepted, refused: r.error ? [r.error.code] : r.answer.refused.map((x) => x.code) };
}

export function runBody(fx: BodyFixture): string {
  const text = typeof fx.text === 'string' ? fx.text : fx.text.prefix + fx.text.repeat.repeat(fx.text.times) + fx.text.suffix;
  try {
    if (fx.parser === 'post') parseEnvelopePost(text);
    else if (fx.parser === 'digest') parseDigest(text, fx.project_id!);
    else if (fx.parser === 'all') parseAllAnswer(text, fx.project_id!);
    else parseBucketQuery(text);
    return 'ok';
  } catch (e) {
    if (e instanceof GossipWireError) return e.code;
    throw e;
  }
}

export async function buildGossipVectors(): Promise<GossipVectors> {
  const f = await gossipFixture();
  const pid = f.pid;
  const two: DigestEntry[] = [
    { kind: 'revoke', id: envelopeId(f.revokeBob) },
    { kind: 'leave', id: envelopeId(f.bobLeaves) },
  ];
  const line = (es: DigestEntry[]) => [...es].sort((a, b) => (a.id < b.id ? -1 : 1)).map((e) => `${e.kind}:${e.id}\n`).join('');
  const digests = [
    { name: 'an empty store', project_id: pid, entries: [], preimage: `${DIGEST_DOMAIN}\u0000`, digest: computeDigest(pid, []), bucketed: computeDigest(pid, [], true) },
    { name: "alice's revoke of bob and bob's leave", project_id: pid, entries: two, preimage: `${DIGEST_DOMAIN}\u0000${line(two)}`, digest: computeDigest(pid, two), bucketed: computeDigest(pid, two, true) },
  ];
  const receive: ReceiveFixture[] = [];
  const rx = (name: string, kind: EnvelopeKind, envelopes: unknown[], route = pid): void => {
    const fx: ReceiveFixture = { name, route_project_id: route, kind, envelopes, expect: { status: 0, accepted: [], refused: [] } };
    fx.expect = runReceive(fx, pid);
    receive.push(fx);
  };
  rx('an admin revokes a member', 'revoke', [f.revokeBob]);
  rx('a member leaves', 'leave', [f.bobLeaves]);
  rx('a revoke of a token the receiver never saw', 'revoke', [f.revokeUnseen]);
  rx('a member signs a revoke', 'revoke', [f.forgedByMember]);
  rx("another project's revoke on this project's route", 'revoke', [f.otherProject]);
  rx('a revoke whose reason was edited after signing', 'revoke', [f.badSignature]);
  rx("an admin signs a member's leave", 'leave', [f.leaveNotOwn]);
  rx('a leave on the revokes route', 'revoke', [f.bobLeaves]);
  rx('a revoke by an admin revoked earlier in the same POST', 'revoke', [f.aliceRevokesLate, f.revokeAlice]);
  rx('a project the receiver does not hold', 'revoke', [f.otherProject], f.otherPid);
  const post = encodeEnvelopePost([f.revokeBob]);
  const bodies: BodyFixture[] = [
    { name: 'no envelopes', parser: 'post', text: '{"v":1,"envelopes":[]}', code: '' },
    { name: 'an unknown field', parser: 'post', text: '{"v":1,"envelopes":[{}],"x":1}', code: '' },
    { name: 'version 2', parser: 'post', text: '{"v":2,"envelopes":[{}]}', code: '' },
    { name: 'not JSON', parser: 'post', text: 'revoke bob', code: '' },
    { name: 'too large', parser: 'post', text: { prefix: '{"v":1,"envelopes":["', repeat: 'x', times: 600 * 1024, suffix: '"]}' }, code: '' },
    { name: 'a digest of another project', parser: 'digest', project_id: pid, text: JSON.stringify(computeDigest(f.otherPid, [])), code: '' },
    { name: 'a digest with 15 buckets', parser: 'digest', project_id: pid, text: JSON.stringify({ ...computeDigest(pid, [], true), buckets: computeDigest(pid, [], true).buckets!.slice(1) }), code: '' },
    { name: 'an uppercase hash', parser: 'digest', project_id: pid, text: JSON.stringify({ ...computeDigest(pid, []), hash: computeDigest(pid, []).hash.toUpperCase() }), code: '' },
    { name: '`all` of another project', parser: 'all', project_id: pid, text: JSON.stringify({ v: 1, project_id: f.otherPid, revokes: [], leaves: [] }), code: '' },
    { name: 'a bucket that is not a hex digit', parser: 'buckets', text: '0,g', code: '' },
    { name: 'a valid bucket list', parser: 'buckets', text: '0,3,f', code: '' },
  ];
  for (const b of bodies) b.code = runBody(b);
  return {
    digest_domain: DIGEST_DOMAIN,
    now_ms: GOSSIP_NOW_MS,
    digests,
    post: { path: gossipPath(pid, 'revokes'), body: post, answer: JSON.stringify({ v: 1, accepted: [envelopeId(f.revokeBob)], held: [], refused: [] }) },
    all: { path: gossipPath(pid, 'all'), query: `buckets=${envelopeId(f.revokeBob)[0]}`, body: JSON.stringify({ v: 1, project_id: pid, revokes: [f.revokeBob], leaves: [] }) },
    receive,
    bodies,
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(vectorDir(), GOSSIP_FILE), serialize(await buildGossipVectors()));
  console.log(`wrote ${GOSSIP_FILE} to ${vectorDir()}`);
}
