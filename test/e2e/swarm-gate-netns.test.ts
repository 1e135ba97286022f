// The swarm gate across hosts (netns bed): one vigosrv whose server.yaml enables gitback
// on web-* but denies db-*, two enrolled envoys running `vigo agent run`, and a fourth host
// that listens on the announce group and dials the envoys' peer port. The operator checks
// that the enabled envoy announces itself and accepts connections, and that the excluded
// one sends no datagram at all and refuses connections — while its agent runs, checks in
// and converges as any other.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { netnsUnavailable, useNetnsBed, type NetnsBed } from '../helpers/netns.js';
import { programBin } from '../helpers/program.js';
import { waitFor } from '../server/harness.js';

const skip = netnsUnavailable();
const node = process.execPath;
const GROUP = '239.77.15.31';
const ANNOUNCE_PORT = 15310;
const PEER_PORT = 1531;

/** prints one line `<source address> <first line of the datagram>` per datagram heard */
const LISTEN = `
const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m, r) => process.stdout.write(r.address + ' ' + m.toString('utf8').split('\\n')[0] + '\\n'));
s.bind(${ANNOUNCE_PORT}, () => { s.addMembership('${GROUP}', process.argv[1]); process.stdout.write('listening\\n'); });
`;
/** prints `connected` or the error code of one TCP connect */
const DIAL = `
const c = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
c.setTimeout(10000, () => { process.stdout.write('timeout\\n'); process.exit(0); });
c.on('connect', () => { process.stdout.write('connected\\n'); c.destroy(); });
c.on('error', (e) => process.stdout.write((e.code || e.message) + '\\n'));
`;

function collect(p: ChildProcess): () => string {
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
}

async function enroll(bed: NetnsBed, host: string, hostname: string, server: string): Promise<void> {
  const t = await bed.exec('srv', [node, programBin('vigocli.js'), 'enroll', 'token', 'create', '--json']);
  assert.equal(t.code, 0, t.stderr);
  const file = join(bed.host(host).vigoRoot, 'token');
  writeFileSync(file, (JSON.parse(t.stdout) as { token: string }).token, { mode: 0o600 });
  const e = await bed.exec(host, [node, programBin('vigo.js'), 'agent', 'enroll', '--server', server, '--token-file', file, '--hostname', hostname]);
  assert.equal(e.code, 0, e.stderr + e.stdout);
}

function startAgent(bed: NetnsBed, host: string): () => string {
  const h = bed.host(host);
  const cfg = join(h.vigoRoot, 'etc', 'vigo-envoy', 'agent.yaml');
  writeFileSync(cfg, `checkin:\n  interval_s: 1\n  timeout_s: 2\nswarm:\n  listen: ":${PEER_PORT}"\n  announce_interface: ${h.addr}\n  announce_interval_s: 1\n`);
  return collect(bed.spawn(host, [node, programBin('vigo.js'), 'agent', 'run', '--config', cfg]));
}

describe('swarm gates across netns hosts', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['srv', 'web', 'db', 'ear']);

  test('an envoy the patterns exclude neither announces nor accepts; one they include does both', { timeout: 300_000 }, async () => {
    const b = bed();
    const srv = b.host('srv');
    const yaml = join(srv.vigoRoot, 'server.yaml');
    writeFileSync(
      yaml,
      `server:\n  api_listen: "${srv.addr}:8443"\n  grpc_listen: "${srv.addr}:1530"\n  hostname: vigosrv-test\n  tls_sans: ["${srv.addr}"]\n` +
        'checkin:\n  interval: 1s\nswarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["-db-*", "*"]\n',
    );
    const srvOut = collect(b.spawn('srv', [node, programBin('vigosrv.js'), '--config', yaml]));
    await waitFor('vigosrv ready', () => srvOut().includes('vigosrv ready'), 60_000, 100).catch((e: unknown) => assert.fail(`${String(e)}\n${srvOut()}`));
    const server = (JSON.parse(readFileSync(join(srv.vigoRoot, 'srv', 'vigo', 'local-admin.json'), 'utf8')) as { server: string }).server;

    const ear = b.spawn('ear', [node, '-e', LISTEN, b.host('ear').addr]);
    const heard = collect(ear);
    await waitFor('the listener to join the group', () => heard().includes('listening'), 30_000, 50);

    await enroll(b, 'web', 'web-1', server);
    await enroll(b, 'db', 'db-1', server);
    const webLog = startAgent(b, 'web');
    const dbLog = startAgent(b, 'db');

    // web-1 announces; db-1 has its assignment (gitback denied by "-db-*") and stays silent
    const web = b.host('web').addr;
    const db = b.host('db').addr;
    await waitFor('a datagram from web-1', () => heard().split('\n').some((l) => l.startsWith(`${web} `)), 90_000, 200).catch((e: unknown) => assert.fail(`${String(e)}\nweb agent:\n${webLog()}`));
    const dbAssignment = join(b.host('db').vigoRoot, 'var', 'lib', 'vigo', 'swarm', 'assignment.json');
    await waitFor('db-1 to hold its assignment', () => {
      try {
        return (JSON.parse(readFileSync(dbAssignment, 'utf8')) as { gates: { gitback: { pattern: string | null } } }).gates.gitback.pattern === '-db-*';
      } catch {
        return false;
      }
    }, 90_000, 200).catch((e: unknown) => assert.fail(`${String(e)}\ndb agent:\n${dbLog()}`));
    // ten of web-1's announce intervals more: db-1 would have sent by now
    const before = heard().split('\n').filter((l) => l.startsWith(`${web} `)).length;
    await waitFor('ten more seconds of announces from web-1', () => heard().split('\n').filter((l) => l.startsWith(`${web} `)).length >= before + 10, 60_000, 200);
    const fromDb = heard().split('\n').filter((l) => l.startsWith(`${db} `));
    const fromWeb = heard().split('\n').filter((l) => l.startsWith(`${web} `));
    process.stdout.write(`# datagrams heard: ${fromWeb.length} from web-1, ${fromDb.length} from db-1\n`);
    assert.deepEqual(fromDb, [], 'db-1 sent no datagram');
    assert.match(fromWeb[0] ?? '', /^\S+ VIGOENVOY:/);
    assert.match(dbLog(), /swarm assignment for db-1: gitback off \(server\.yaml swarm\.gitback\.enabled: pattern "-db-\*"\)/);
    assert.doesNotMatch(dbLog(), /peer server listening/);

    // the peer port: web-1 accepts, db-1 refuses
    const dial = async (addr: string) => (await b.exec('ear', [node, '-e', DIAL, addr, String(PEER_PORT)])).stdout.trim();
    assert.equal(await dial(web), 'connected');
    assert.equal(await dial(db), 'ECONNREFUSED');

    // and on db-1 the gitback verbs say why, root included
    const init = await b.exec('db', [node, programBin('vigo.js'), 'swarm', 'gitback', 'project', 'init', 'demo'], { env: { ...process.env, HOME: join(b.host('db').vigoRoot, 'root-home') } });
    assert.notEqual(init.code, 0);
    assert.match(init.stderr, /gitback is not enabled on this envoy \(db-1\): server\.yaml swarm\.gitback\.enabled denies db-1 with pattern "-db-\*"/);
  });
});
