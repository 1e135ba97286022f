/**
 * One running vigosrv: first-start material (CA, server certificate, secrets master key,
 * database), the in-memory envoy index rebuilt from the database, the stacks from
 * `.live/`, the gRPC check-in endpoint, the REST API, and the root-only local-admin token.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { writeFileAtomic, writeJsonAtomic } from '../platform/atomic.js';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { bindHost, splitHostPort, type ServerConfig } from './config.js';
import { openDb, type Db } from './db.js';
import { EnvoyIndex } from './envoys.js';
import { PolicyState } from './policy.js';
import { CheckinServer } from './checkin/server.js';
import { checkBundleSizes } from './checkin/bundle-limit.js';
import { createMetrics, registerCertGauges, registerStateGauges } from './metrics.js';
import { certFingerprint } from '../wire/enroll.js';
import { createCa, type PemPair } from './pki.js';
import { ServerIdentity, ensureServerCert, keepServerCertFresh } from './server-cert.js';
import { ensureMasterKey, masterKeyWrap, secretsPaths } from './secrets.js';
import { Bolt, BOLT_KEY_WRAP_DOMAIN, boltKeyFile } from '../spanner/index.js';
import { cryptoRng } from '../platform/clock.js';
import { mintLocalAdminToken } from './tokens.js';
import { buildRest } from './rest/index.js';
import { VigoError } from '../platform/errors.js';
import type { ServerContext } from './context.js';
import { EnvoyMoves } from './envoy-move.js';
import { StacksWatcher } from './publish/stacks-watcher.js';
import { ensureOpsHelper, opsSigner } from '../spanner/index-ops.js';
import { replicateFilePush, type ReplicateOutcome } from '../gitback/index.js';
import { paths } from '../platform/paths.js';

/** How often a bolt compares the live roster's CAs with the set its check-in listener trusts. */
const TRUST_REFRESH_MS = 1000;

export interface RunningServer {
  restUrl: string;
  restPort: number;
  grpcPort: number;
  ctx: ServerContext;
  stop(): Promise<void>;
}

export function localAdminFile(dataDir: string): string {
  return join(dataDir, 'local-admin.json');
}

async function ensureTls(config: ServerConfig, log: (m: string) => void): Promise<{ ca: PemPair; server: PemPair }> {
  const { ca: caCrt, caKey } = config.tls;
  for (const f of [caCrt, caKey, config.tls.cert, config.tls.key]) mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
  let ca: PemPair;
  if (existsSync(caCrt) && existsSync(caKey)) ca = { cert: readFileSync(caCrt, 'utf8'), key: readFileSync(caKey, 'utf8') };
  else if (existsSync(caCrt) || existsSync(caKey)) {
    // never mint a CA over half of one: every enrolled envoy trusts the existing certificate
    const [has, lacks, setting] = existsSync(caCrt) ? [caCrt, caKey, 'server.tls.ca_key_file'] : [caKey, caCrt, 'server.tls.ca_file'];
    throw new VigoError('E_TLS', `the CA is half there: ${has} exists but ${lacks} does not`, { hint: `point ${setting} in server.yaml at the file that belongs with ${has}, or move both away to have vigosrv create a new CA (envoys enrolled with the old one must then enroll again)` });
  } else {
    ca = await createCa(`vigo CA ${config.server.hostname ?? ''}`.trim());
    writeFileAtomic(caKey, ca.key, { mode: 0o600 });
    writeFileAtomic(caCrt, ca.cert, { mode: 0o644 });
    log(`created CA ${caCrt} (sha256 ${certFingerprint(ca.cert)})`);
  }
  const server = await ensureServerCert(config, ca, log);
  return { ca, server };
}

/** Whether this host has IPv6 at all (else "every address" is 0.0.0.0: binding :: would fail). */
function hasIpv6(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv6'));
}

/** A listen failure named by the listener and its address, with what to do next. */
function listenError(what: string, addr: string, setting: string, e: unknown): VigoError {
  const msg = e instanceof Error ? e.message : String(e);
  const inUse = (e as NodeJS.ErrnoException)?.code === 'EADDRINUSE' || /EADDRINUSE|No address added/.test(msg);
  return new VigoError(inUse ? 'E_ADDR_IN_USE' : 'E_LISTEN', `cannot listen for ${what} on ${addr}: ${inUse ? 'the address is in use' : msg}`, {
    hint: inUse ? `another process holds ${addr} (see \`ss -ltnp\`); stop it, or change ${setting} in server.yaml` : `check ${setting} in server.yaml`,
    cause: e,
  });
}

/**
 * Start everything, or — when any step fails — release what was started (listeners,
 * timers, the database) before rethrowing, so a failed start leaves nothing holding the
 * process open.
 */
export async function startServer(config: ServerConfig, opts: { log?: (m: string) => void; now?: () => number; env?: NodeJS.ProcessEnv } = {}): Promise<RunningServer> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} vigosrv: ${m}\n`));
  const now = opts.now ?? Date.now;
  const release: (() => unknown)[] = [];
  const releaseAll = async (): Promise<void> => {
    for (const r of release.splice(0).reverse()) {
      try {
        await r();
      } catch (e) {
        log(`while releasing after a failed start: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o755 });
    mkdirSync(config.stacksDir, { recursive: true, mode: 0o755 });
    const { ca, server: srvTls } = await ensureTls(config, log);
    if (ensureMasterKey(secretsPaths(config.secretsDir, config.dataDir))) log(`created secrets master key in ${config.secretsDir}`);

    let db: Db;
    try {
      db = openDb(config.dbPath);
    } catch (e) {
      throw new VigoError('E_DB_OPEN', `cannot open the database ${config.dbPath}: ${e instanceof Error ? e.message : String(e)}`, {
        hint: `check free space (df ${config.dataDir}) and permissions there; SQLite reports a full disk as "disk I/O error"`,
        cause: e,
      });
    }
    release.push(() => db.close());
    const intervalMs = config.checkinIntervalMs;
    const index = new EnvoyIndex(db, intervalMs);
    const policy = new PolicyState(db, config.dataDir, config.liveDir, config.stacksDir);
    policy.boot();
    if (policy.liveError !== null) log(`WARNING: ${policy.liveError}`);
    // a publish whose bundle would not fit in a check-in message is refused, naming the envoys
    policy.preflight = (stacks, version) => checkBundleSizes(stacks, index.all().filter((e) => !e.revoked).map((e) => e.hostname), version, Math.floor(now() / 1000), log);
    const metrics = createMetrics();
    index.policy = policy; // envoys lagging the published version become stale-policy
    const identity = new ServerIdentity(ca.cert, srvTls);
    const checkin = new CheckinServer({ index, policy, intervalS: Math.max(1, Math.round(intervalMs / 1000)), runsKeptPerEnvoy: config.database.runs_kept_per_envoy, runReportMaxBytes: config.database.run_report_max_bytes, metrics, log, now, db, ca, envoyCertLifetimeS: config.pki.envoy_cert_lifetime_s, swarm: config.swarm });
    release.push(() => checkin.stop());
    let grpcPort: number;
    try {
      const g = splitHostPort(config.server.grpc_listen);
      const host = bindHost(g.host, hasIpv6());
      grpcPort = await checkin.listen(`${host.includes(':') ? `[${host}]` : host}:${g.port}`, identity);
    } catch (e) {
      throw listenError('gRPC check-ins', config.server.grpc_listen, 'server.grpc_listen', e);
    }
    registerStateGauges(metrics, index, policy, () => checkin.connectedCount, now);

    const sp = secretsPaths(config.secretsDir, config.dataDir);
    const stacksRef: { current: StacksWatcher | null } = { current: null };
    const spanner = Bolt.open({
      config: config.spanner,
      hostname: (config.server.hostname ?? osHostname()).toLowerCase(),
      dataDir: config.dataDir,
      keyFile: boltKeyFile(config.secretsDir),
      wrap: () => masterKeyWrap(sp, BOLT_KEY_WRAP_DOMAIN),
      caPem: ca.cert,
      caSha256: certFingerprint(ca.cert),
      clock: { now },
      rng: cryptoRng,
      log,
      localStats: () => ({ envoys: index.size, compliance_pct: index.compliance(now()).compliance_pct, config_version: policy.version, stacks: stacksRef.current?.state() ?? null }),
    });
    if (spanner) release.push(() => spanner.close());
    const moves = spanner ? new EnvoyMoves({ config, db, index, checkin, bolt: spanner, ca, grpcPort, log, now }) : null;
    let stopTrust = (): void => undefined;
    if (moves) {
      // the check-in listener accepts envoy certificates of every live bolt's CA: follow the roster
      checkin.spanner = moves;
      const install = () => {
        if (!identity.setTrustedCas(moves.trust().bundle)) return;
        log(`check-in trusts ${moves.trust().bundle.split('BEGIN CERTIFICATE').length - 1} CA(s) (this bolt's and every live roster bolt's)`);
        checkin.dropUntrusted(moves.trust().bundle);
      };
      install();
      const t = setInterval(() => {
        if (moves.refreshTrust()) install();
      }, TRUST_REFRESH_MS);
      t.unref();
      moves.startResumer();
      stopTrust = () => {
        clearInterval(t);
        moves.stop();
      };
      release.push(stopTrust);
    }
    // spanner mode: every bolt serves the head of the ops-puddle's stacks project (docs/spanner.md "Stacks watcher")
    const stacks = spanner
      ? new StacksWatcher({
          db,
          opsPuddleDir: config.opsPuddleDir,
          gitbackBase: config.gitbackBase,
          scratchDir: config.dataDir,
          gitHost: config.gitHost,
          publish: (dir) => policy.publish(dir),
          log,
          onLive: () => void (config.checkin.push_on_publish && checkin.push(null, 'publish')),
          // the entry point's env names the agent's and the helper's sockets; without it, nothing replicates from here
          ...(opts.env !== undefined ? { replicate: stacksReplicator(opts.env) } : {}),
        })
      : null;
    stacksRef.current = stacks;
    if (stacks) {
      stacks.start();
      release.push(() => stacks.stop());
    }
    const ctx: ServerContext = { config, db, index, policy, checkin, metrics, ca, caFingerprint: certFingerprint(ca.cert), grpcPort, spanner, moves, stacks, startedAt: now(), log, now };
    // The CA rides along in the chain so a first-time client can pin it (see fetchServerCa).
    const app = await buildRest(ctx, { key: srvTls.key, cert: `${srvTls.cert.trim()}\n${ca.cert.trim()}\n` });
    release.push(() => app.close());
    const rest = splitHostPort(config.server.api_listen);
    rest.host = bindHost(rest.host, hasIpv6());
    try {
      await app.listen({ host: rest.host, port: rest.port });
    } catch (e) {
      throw listenError('the REST API', config.server.api_listen, 'server.api_listen', e);
    }
    const addr = app.server.address();
    const restPort = typeof addr === 'object' && addr ? addr.port : rest.port;
    const localHost = rest.host === '0.0.0.0' || rest.host === '::' ? '127.0.0.1' : rest.host;
    const restUrl = `https://${localHost.includes(':') ? `[${localHost}]` : localHost}:${restPort}`;
    // a renewed server certificate reaches new REST handshakes too (gRPC reads `identity` itself)
    identity.onChange((p) => (app.server as unknown as TlsServer).setSecureContext({ key: p.key, cert: `${p.cert.trim()}\n${ca.cert.trim()}\n` }));
    const stopCertRenewal = keepServerCertFresh(config, ca, identity, log, now);
    release.push(stopCertRenewal);
    registerCertGauges(metrics, index, checkin.certs, identity, now);

    const token = mintLocalAdminToken(db, Math.floor(now() / 1000));
    writeJsonAtomic(localAdminFile(config.dataDir), { server: restUrl, token, ca_file: config.tls.ca }, { mode: 0o600 });

    // the entry point's environment (VIGO_ROOT): where puddle.sock lives, what the helper inherits
    if (opts.env !== undefined) startOpsHelperAtBoot(config, opts.env, log);

    const flushEvery = setInterval(() => {
      try {
        while (index.dirtyCount > 0) index.flush(config.database.flush_batch);
      } catch (e) {
        log(`flush failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, config.database.flush_interval_ms);
    flushEvery.unref();

    return {
      restUrl,
      restPort,
      grpcPort,
      ctx,
      async stop() {
        clearInterval(flushEvery);
        await stacks?.stop();
        stopTrust();
        stopCertRenewal();
        await app.close();
        await checkin.stop();
        index.flush();
        spanner?.close();
        db.close();
      },
    };
  } catch (e) {
    await releaseAll();
    throw e;
  }
}

/**
 * How a file:// push into the stacks project reaches the other bolts (docs/spanner.md): this
 * host's agent diffs the bare repo against what replication recorded (root's `replicate` on
 * its gitback socket), and the manifest is signed by the service-account puddle through
 * puddle.sock SIGN. The master key and the puddle key never reach this process's requests.
 */
function stacksReplicator(env: NodeJS.ProcessEnv): (pid: string) => Promise<ReplicateOutcome> {
  const puddleSock = join(paths.varRun(env), 'puddle.sock');
  return (pid) => replicateFilePush(paths.gitbackSocket(env), pid, () => opsSigner(puddleSock), { timeoutMs: REPLICATE_TIMEOUT_MS });
}
/** connect, the daemon's bundle of the change, and each report line are bounded by this */
const REPLICATE_TIMEOUT_MS = 30_000;

/**
 * The service-account puddle helper serves /var/run/vigo/puddle.sock (docs/spanner.md "The
 * helper"). It opens its key with the master key vigosrv holds, so vigosrv starts it at boot
 * when this host has a service-account puddle; one already answering is kept. In the
 * background: a helper that is slow to come up must not hold the listeners back.
 */
function startOpsHelperAtBoot(config: ServerConfig, env: NodeJS.ProcessEnv, log: (m: string) => void): void {
  const puddleDir = join(config.dataDir, 'puddle');
  if (!existsSync(join(puddleDir, 'identity.wrapped'))) return;
  const socket = join(paths.varRun(env), 'puddle.sock');
  ensureOpsHelper({ socket, puddleDir, opsDir: config.opsPuddleDir, secretsDir: config.secretsDir, dataDir: config.dataDir }, env).then(
    (pid) => log(pid === null ? `service-account puddle helper already answering on ${socket}` : `started the service-account puddle helper (pid ${pid}) on ${socket}`),
    (e: unknown) => log(`the service-account puddle helper did not start on ${socket}: ${e instanceof Error ? e.message : String(e)}; stacks verbs refuse with E_OPS_NO_HELPER until it runs (see ${join(puddleDir, 'helper.log')})`),
  );
}
