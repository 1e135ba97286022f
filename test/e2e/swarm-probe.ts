/**
 * Probes the swarm fleet bed's tests run inside a host of the bed (the test process cannot
 * reach it). Each prints one JSON line.
 *
 *   node swarm-probe.js resend <sender VIGO_ROOT> <pid> <host> <port> <envoy id>
 *     sends the receiver the sender's newest signed update of a project and its push
 *     bundle, exactly as the sender's fan-out does
 *     (POST /swarm/gitback/push/<pid>, over mTLS with the sender's enrollment certificate);
 *     prints {status, body} or {error}
 *   node swarm-probe.js listen <group> <port> <ms>
 *     joins the announce group and prints the source address and first line of every
 *     datagram heard for <ms>
 *   node swarm-probe.js chain <VIGO_ROOT> <passwd file> <pid>
 *     the chain the envoy's local member of a project presents (as the agent reads it):
 *     prints {header, tokens, delegations, token_id, subject}
 *   node swarm-probe.js forge-revoke <pid> <token id>     (run as the user; chain JSON on stdin)
 *     signs a revoke of <token id> with the user's own puddle key (its session) over the
 *     chain on stdin, whatever its role: what a member who tries to revoke another sends;
 *     prints {envelope}
 *   node swarm-probe.js post <sender VIGO_ROOT> <pid> <revokes|leaves> <host> <port> <envoy id>   (envelopes JSON on stdin)
 *     POSTs them to an envoy's gossip route over mTLS with the sender's certificate; prints {status, body}
 *   node swarm-probe.js fetch <sender VIGO_ROOT> <pid> <host> <port> <envoy id>   (X-Vigo-Chain on stdin)
 *     asks an envoy for a project's bundle with that chain, as replication does; prints {status, body}
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalGitbackView } from '../../src/gitback/index.js';
import { puddleDir, sessionSigner } from '../../src/puddle/index.js';
import { encodeEnvelopePost, gossipPath, swarmCall, type SwarmIdentity } from '../../src/swarm/index.js';
import { decodePushChainHeader, signingMessage, tokenId, type Delegation, type RevokeEnvelope, type Token } from '../../src/trust/index.js';

interface StoredUpdate {
  manifest: { bundle_sha256: string; seq: number };
  chain: string;
}

function envoyIdentity(root: string): SwarmIdentity {
  const idDir = join(root, 'etc/vigo-envoy');
  return { cert: readFileSync(join(idDir, 'envoy.crt'), 'utf8'), key: readFileSync(join(idDir, 'envoy.key'), 'utf8'), ca: readFileSync(join(idDir, 'ca.crt'), 'utf8') };
}

async function resend(root: string, pid: string, host: string, port: number, envoyId: string): Promise<unknown> {
  const identity = envoyIdentity(root);
  const base = join(root, 'var/lib/vigo/swarm/gitback');
  const state = JSON.parse(readFileSync(join(base, 'replica', `${pid}.json`), 'utf8')) as { updates: Record<string, StoredUpdate> };
  const updates = Object.values(state.updates).sort((x, y) => x.manifest.seq - y.manifest.seq);
  const last = updates[updates.length - 1];
  if (!last) throw new Error(`${root}: no update of ${pid} held`);
  const bundle = readFileSync(join(base, 'replica', 'bundles', `${last.manifest.bundle_sha256}.bundle`));
  const head = `${JSON.stringify({ v: 1, exact: true, updates: [last] })}\n`;
  const r = await swarmCall({ identity, host, port, expectEnvoyId: envoyId, method: 'POST', path: `/swarm/gitback/push/${pid}`, body: Buffer.concat([Buffer.from(head), bundle]), deadlineMs: 30_000 });
  return { status: r.status, body: JSON.parse(r.body.toString('utf8')) as unknown };
}

function listen(group: string, port: number, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const heard: Array<{ from: string; line: string }> = [];
    const sock = createSocket({ type: 'udp4', reuseAddr: true });
    sock.on('message', (msg, rinfo) => heard.push({ from: rinfo.address, line: msg.toString('latin1').split('\n')[0] ?? '' }));
    sock.once('error', reject);
    sock.bind(port, () => {
      sock.addMembership(group);
      setTimeout(() => (sock.close(), resolve({ heard })), ms);
    });
  });
}

function chain(root: string, passwd: string, pid: string): unknown {
  const view = new LocalGitbackView({ VIGO_ROOT: root }, passwd, { now: () => Date.now() }, () => {});
  const p = view.projects().find((x) => x.projectId === pid);
  if (!p) throw new Error(`${root}: no local member holds ${pid}`);
  const pc = decodePushChainHeader(p.chain);
  const leaf = pc.chain[pc.chain.length - 1] as Token;
  return { header: p.chain, tokens: pc.chain, delegations: pc.delegations, token_id: tokenId(leaf), subject: leaf.subject };
}

async function forgeRevoke(pid: string, victim: string, input: { tokens: Token[]; delegations: Delegation[] }): Promise<unknown> {
  const signer = await sessionSigner(puddleDir(process.env));
  const body: Omit<RevokeEnvelope, 'sig'> = {
    v: 1,
    kind: 'revoke',
    project_id: pid,
    token_id: victim,
    reason: 'forged by a member',
    issued_at: Math.floor(Date.now() / 1000),
    signer: Buffer.from(signer.publicKey).toString('hex'),
    signer_chain: input.tokens,
    signer_delegations: input.delegations,
  };
  const sig = await signer.sign(signingMessage('revoke', body));
  return { envelope: { ...body, sig: Buffer.from(sig).toString('hex') } };
}

async function call(root: string, host: string, port: number, envoyId: string, method: 'GET' | 'POST', path: string, extra: { body?: string; chain?: string }): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (extra.body !== undefined) headers['content-type'] = 'application/json';
  if (extra.chain !== undefined) headers['x-vigo-chain'] = extra.chain;
  const r = await swarmCall({ identity: envoyIdentity(root), host, port, expectEnvoyId: envoyId, method, path, headers, ...(extra.body !== undefined ? { body: extra.body } : {}), deadlineMs: 30_000, maxResponseBytes: 4 * 1024 * 1024 });
  const text = r.body.toString('utf8');
  let body: unknown = text.slice(0, 2000);
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    // a bundle answer: its first line only
    body = text.split('\n')[0]?.slice(0, 2000);
  }
  return { status: r.status, body };
}

function stdin(): string {
  return readFileSync(0, 'utf8');
}

async function main(): Promise<unknown> {
  const [op, ...a] = process.argv.slice(2);
  if (op === 'resend') return resend(a[0] as string, a[1] as string, a[2] as string, Number(a[3]), a[4] as string);
  if (op === 'listen') return listen(a[0] as string, Number(a[1]), Number(a[2]));
  if (op === 'chain') return chain(a[0] as string, a[1] as string, a[2] as string);
  if (op === 'forge-revoke') return forgeRevoke(a[0] as string, a[1] as string, JSON.parse(stdin()) as { tokens: Token[]; delegations: Delegation[] });
  if (op === 'post') return call(a[0] as string, a[3] as string, Number(a[4]), a[5] as string, 'POST', gossipPath(a[1] as string, a[2] as 'revokes' | 'leaves'), { body: encodeEnvelopePost(JSON.parse(stdin()) as RevokeEnvelope[]) });
  if (op === 'fetch') return call(a[0] as string, a[2] as string, Number(a[3]), a[4] as string, 'GET', `/swarm/gitback/bundle/${a[1] as string}`, { chain: stdin().trim() });
  throw new Error(`swarm-probe: unknown op ${String(op)}`);
}

main().then(
  (v) => process.stdout.write(`${JSON.stringify(v)}\n`),
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
  },
);
