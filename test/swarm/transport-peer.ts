/**
 * A real swarm peer process for the multi-host tests, run inside a netns host:
 *   node transport-peer.js serve <identity-dir> <host> <port>
 *     serves POST /echo (answers {peer, body}) and prints `listening <port>` when ready;
 *   node transport-peer.js call <identity-dir> <host> <port> <expected-envoy-id> <deadline-ms>
 *     POSTs /echo once and prints one JSON line: {ok, status, body, ms} or {ok:false, code, ms}.
 * <identity-dir> holds envoy.crt, envoy.key (0600) and ca.crt, as /etc/vigo-envoy does:
 * the key is read from a file, never from argv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SwarmTransport, type SwarmIdentity } from '../../src/swarm/transport.js';
import { swarmCall } from '../../src/swarm/transport-client.js';
import { VigoError } from '../../src/platform/errors.js';

const [mode, dir, host, port, expect, deadline] = process.argv.slice(2);
if (!dir || !host || !port) throw new Error('usage: transport-peer serve|call <dir> <host> <port> [<envoy-id> <deadline-ms>]');
const identity: SwarmIdentity = {
  cert: readFileSync(join(dir, 'envoy.crt'), 'utf8'),
  key: readFileSync(join(dir, 'envoy.key'), 'utf8'),
  ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
};

if (mode === 'serve') {
  const t = new SwarmTransport({ identity, host, port: Number(port), log: (l) => process.stderr.write(`${l}\n`) });
  t.route('POST', '/echo', (peer, req) => ({ status: 200, body: { peer: peer.envoyId, body: req.body.toString() } }));
  const a = await t.listen();
  process.stdout.write(`listening ${a.port}\n`);
  process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
} else if (mode === 'call') {
  const t0 = Date.now();
  try {
    const r = await swarmCall({ identity, host, port: Number(port), expectEnvoyId: expect ?? '', method: 'POST', path: '/echo', body: 'across the bridge', deadlineMs: Number(deadline) });
    process.stdout.write(`${JSON.stringify({ ok: true, status: r.status, body: JSON.parse(r.body.toString()) as unknown, ms: Date.now() - t0 })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, code: e instanceof VigoError ? e.code : String(e), message: e instanceof Error ? e.message : '', ms: Date.now() - t0 })}\n`);
    process.exitCode = 2;
  }
} else {
  throw new Error(`transport-peer: unknown mode ${String(mode)}`);
}
