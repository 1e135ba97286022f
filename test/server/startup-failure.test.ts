// An operator starts vigosrv while another process holds one of its ports. vigosrv must say
// which address is taken, release everything it had opened, and exit non-zero within
// seconds — not keep the other listener open forever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { Fleet, bin, freePort } from './harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** Run vigosrv to its exit (killed after `boundMs`, which fails the test). */
function runVigosrv(file: string, boundMs: number): Promise<{ code: number | null; out: string; ms: number; killed: boolean }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin('vigosrv.js'), '--config', file], { env: { ...process.env, VIGO_ROOT: fleet.srvRoot }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, boundMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0, killed });
    }),
  );
}

/** The port can be bound again: the exited vigosrv left nothing listening. */
async function isFree(port: number): Promise<boolean> {
  try {
    (await hold(port)).close();
    return true;
  } catch {
    return false;
  }
}

// 30 s bounds a start on a loaded 2-core machine (a good start takes ~1 s); the old code never exited
const BOUND_MS = 30_000;

test('REST port taken: vigosrv names it, releases the gRPC port, exits non-zero', { timeout: 120_000 }, async () => {
  fleet.restPort = await freePort();
  fleet.grpcPort = await freePort();
  const squatter = await hold(fleet.restPort);
  try {
    const r = await runVigosrv(await fleet.writeServerYaml(), BOUND_MS);
    console.log(`REST port taken: exit ${r.code} after ${r.ms} ms`);
    assert.equal(r.killed, false, `vigosrv was still running after ${BOUND_MS} ms:\n${r.out}`);
    assert.notEqual(r.code, 0);
    assert.match(r.out, new RegExp(`error: cannot listen for the REST API on 127\\.0\\.0\\.1:${fleet.restPort}: the address is in use`));
    assert.match(r.out, /hint: another process holds .*server\.rest_listen/);
    assert.ok(await isFree(fleet.grpcPort), 'the gRPC port was released');
  } finally {
    squatter.close();
  }
});

test('gRPC port taken: vigosrv names it, exits non-zero, the REST port stays free', { timeout: 120_000 }, async () => {
  fleet.restPort = await freePort();
  fleet.grpcPort = await freePort();
  const squatter = await hold(fleet.grpcPort);
  try {
    const r = await runVigosrv(await fleet.writeServerYaml(), BOUND_MS);
    console.log(`gRPC port taken: exit ${r.code} after ${r.ms} ms`);
    assert.equal(r.killed, false, `vigosrv was still running after ${BOUND_MS} ms:\n${r.out}`);
    assert.notEqual(r.code, 0);
    assert.match(r.out, new RegExp(`error: cannot listen for gRPC check-ins on 127\\.0\\.0\\.1:${fleet.grpcPort}: the address is in use`));
    assert.match(r.out, /server\.grpc_listen/);
    assert.ok(await isFree(fleet.restPort), 'the REST port was never left open');
  } finally {
    squatter.close();
  }
  // with the port free again the same data directory starts normally
  await fleet.startServer();
  assert.ok(fleet.restUrl.length > 0);
});

test('a write that fails after both listeners are open (as on a full disk) releases both and exits', { timeout: 120_000 }, async () => {
  await fleet.stopServer();
  fleet.restPort = await freePort();
  fleet.grpcPort = await freePort();
  // the last boot step writes local-admin.json; a directory in its place makes that write fail
  const la = join(fleet.dataDir, 'local-admin.json');
  rmSync(la, { force: true });
  mkdirSync(join(la, 'in-the-way'), { recursive: true });
  const r = await runVigosrv(await fleet.writeServerYaml(), BOUND_MS);
  console.log(`boot write failed: exit ${r.code} after ${r.ms} ms`);
  assert.equal(r.killed, false, `vigosrv was still running after ${BOUND_MS} ms:\n${r.out}`);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /error: .*local-admin\.json/);
  assert.ok(await isFree(fleet.restPort), 'the REST port was released');
  assert.ok(await isFree(fleet.grpcPort), 'the gRPC port was released');
  rmSync(la, { recursive: true, force: true });
});
