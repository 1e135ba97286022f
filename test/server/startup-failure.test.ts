// An operator starts vigosrv while another process holds one of its ports. vigosrv must say
// which address is taken, release everything it had opened, and exit non-zero within
// seconds — not keep the other listener open forever.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.match(r.out, /hint: another process holds .*server\.api_listen/);
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

test('server.tls names a CA certificate whose key is missing: vigosrv refuses instead of minting a new CA over it', { timeout: 120_000 }, async () => {
  await fleet.stopServer();
  fleet.restPort = await freePort();
  fleet.grpcPort = await freePort();
  // the operator's CA certificate is in place, its key path is wrong
  const tls = join(fleet.dir, 'operator-tls');
  mkdirSync(tls, { recursive: true });
  const caPem = readFileSync(join(fleet.dataDir, 'tls', 'ca.crt'), 'utf8');
  writeFileSync(join(tls, 'ca.pem'), caPem);
  const file = await fleet.writeServerYaml(`  tls:\n    ca_file: ${tls}/ca.pem\n    ca_key_file: ${tls}/ca-key.pem\n`);
  const r = await runVigosrv(file, BOUND_MS);
  assert.equal(r.killed, false, `vigosrv was still running after ${BOUND_MS} ms:\n${r.out}`);
  assert.notEqual(r.code, 0);
  assert.match(r.out, new RegExp(`error: the CA is half there: ${tls}/ca\\.pem exists but ${tls}/ca-key\\.pem does not`));
  assert.match(r.out, /hint: point server\.tls\.ca_key_file in server\.yaml at the file that belongs with/);
  assert.equal(readFileSync(join(tls, 'ca.pem'), 'utf8'), caPem, "the operator's CA certificate is untouched");
  assert.equal(existsSync(join(tls, 'ca-key.pem')), false, 'no key was minted for it');
  assert.ok(await isFree(fleet.restPort), 'no port left open');
});

test('a full disk at boot: vigosrv exits non-zero with the error and leaves no port open', { timeout: 180_000 }, async (t) => {
  // a real full file system: a 16 MiB tmpfs as the data directory (needs root and mount)
  const disk = new Fleet();
  t.after(async () => {
    await disk.cleanup().catch(() => undefined);
    spawnSync('umount', ['-l', disk.srvRoot]);
  });
  mkdirSync(disk.srvRoot, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk.srvRoot], { encoding: 'utf8' });
  if (m.status !== 0) return t.skip(`cannot mount a tmpfs here: ${m.stderr.trim()}`);
  await disk.startServer();
  await disk.stopServer();
  // fill it to the last byte
  const filler = join(disk.srvRoot, 'filler');
  try {
    for (let i = 0; ; i++) writeFileSync(join(disk.srvRoot, `filler-${i}`), Buffer.alloc(1 << 20), { flag: 'w' });
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  try {
    for (let i = 0; ; i++) writeFileSync(`${filler}-small-${i}`, Buffer.alloc(512));
  } catch {
    /* full */
  }
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin('vigosrv.js'), '--config', join(disk.dir, 'server.yaml')], { env: { ...process.env, VIGO_ROOT: disk.srvRoot }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), BOUND_MS);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  console.log(`full disk at boot: exit ${code} after ${Date.now() - t0} ms`);
  assert.notEqual(code, null, `vigosrv was still running after ${BOUND_MS} ms:\n${out}`);
  assert.notEqual(code, 0, out);
  assert.match(out, /error: (cannot open the database .*vigo\.db: )?.*(ENOSPC|no space left|disk is full|disk I\/O error)/i);
  assert.match(out, /hint: check free space \(df .*\)|ENOSPC/);
  assert.ok(await isFree(disk.restPort), 'the REST port was released');
  assert.ok(await isFree(disk.grpcPort), 'the gRPC port was released');
});
