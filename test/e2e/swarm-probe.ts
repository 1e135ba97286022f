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
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { swarmCall } from '../../src/swarm/index.js';

interface StoredUpdate {
  manifest: { bundle_sha256: string; seq: number };
  chain: string;
}

async function resend(root: string, pid: string, host: string, port: number, envoyId: string): Promise<unknown> {
  const idDir = join(root, 'etc/vigo-envoy');
  const identity = { cert: readFileSync(join(idDir, 'envoy.crt'), 'utf8'), key: readFileSync(join(idDir, 'envoy.key'), 'utf8'), ca: readFileSync(join(idDir, 'ca.crt'), 'utf8') };
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

async function main(): Promise<unknown> {
  const [op, ...a] = process.argv.slice(2);
  if (op === 'resend') return resend(a[0] as string, a[1] as string, a[2] as string, Number(a[3]), a[4] as string);
  if (op === 'listen') return listen(a[0] as string, Number(a[1]), Number(a[2]));
  throw new Error(`swarm-probe: unknown op ${String(op)}`);
}

main().then(
  (v) => process.stdout.write(`${JSON.stringify(v)}\n`),
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
  },
);
