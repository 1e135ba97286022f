/**
 * The check-in service of `vigo agent run`. Every interval (and whenever the server pushes
 * through the stream) it checks in with its policy version and state fingerprint, takes a
 * new bundle if the server has one, converges the host to the bundle it holds, and reports
 * the run. Bundles are cached on disk and runs are spooled until acknowledged, so the
 * envoy keeps converging while the server is away and loses no report when it comes back.
 *
 * agent.yaml:
 *   checkin:
 *     interval_s: 60        # default: what the server said at enrollment
 *     grpc_addr: HOST:PORT  # default: what the server said at enrollment
 *     timeout_s: 10
 *     spool_max: 1000
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AgentContext, AgentService } from '../daemon.js';
import type { AgentConfig } from '../config.js';
import { writeFileAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { identityFiles, isEnrolled, readIdentity } from './identity.js';
import { CheckinStream } from './stream.js';
import { CheckinSchedule } from './schedule.js';
import { renewCert, renewalDue, type HeldCert } from './renew.js';
import { certValidity } from '../../server/pki.js';
import { agentConvergeOptions, converge, parseBundle, type PolicyBundle, type RunReport } from './engine-port.js';

const section = z
  .object({
    interval_s: z.number().positive().optional(),
    grpc_addr: z.string().regex(/^.+:\d{1,5}$/, 'must be HOST:PORT').optional(),
    timeout_s: z.number().positive().default(10),
    spool_max: z.number().int().positive().default(1000),
  })
  .strict();
export type CheckinSection = z.infer<typeof section>;

export function parseCheckinSection(config: AgentConfig): CheckinSection {
  const r = section.safeParse(config.sections.checkin ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new VigoError('E_CONFIG', `${config.file}: checkin.${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

export function checkinStateDir(env: Env): string {
  return join(paths.varLib(env), 'checkin');
}

export function stateFingerprint(r: RunReport): string {
  const h = createHash('sha256').update(String(r.policy_version));
  for (const x of r.resources) h.update('\0').update(x.id).update('=').update(x.status);
  return h.digest('hex').slice(0, 32);
}

/** What a local failure was, for the log: never "server unreachable" for a full disk. */
export function describeLocalFailure(e: unknown, what: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') return `${what} failed: the disk is full (${msg}); free space there`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `${what} failed: not writable (${msg}); check the directory's owner, mode and mount`;
  return `${what} failed: ${msg}`;
}

export class CheckinService implements AgentService {
  readonly name = 'checkin';
  private stream: CheckinStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private schedule!: CheckinSchedule;
  private held: HeldCert | undefined;
  private addr = '';
  private renewNotBefore = 0;
  private lastConvergeMs = 0;
  private intervalMs = 60_000;
  private bundle: PolicyBundle | null = null;
  private fingerprint = '';
  private running: Promise<void> | null = null;
  private again = false;
  private away = false;
  private stopped = false;
  private ctx!: AgentContext;
  private cfg!: CheckinSection;
  private stateDir = '';

  /** `random` makes the check-in jitter reproducible (tests, the bench); default Math.random. */
  constructor(
    private readonly config: AgentConfig,
    private readonly random?: () => number,
  ) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.cfg = parseCheckinSection(this.config);
    if (!isEnrolled(ctx.env)) {
      ctx.log('checkin: this envoy is not enrolled; run `vigo agent enroll --server URL --token-file FILE` (other services keep running)');
      return;
    }
    const ident = readIdentity(ctx.env);
    this.stateDir = checkinStateDir(ctx.env);
    mkdirSync(join(this.stateDir, 'spool'), { recursive: true, mode: 0o700 });
    const cached = join(this.stateDir, 'bundle.json');
    if (existsSync(cached)) {
      try {
        this.bundle = parseBundle(JSON.parse(readFileSync(cached, 'utf8')));
      } catch (e) {
        ctx.log(`checkin: ignoring unreadable cached bundle ${cached}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.addr = this.cfg.grpc_addr ?? ident.id.grpc_addr;
    this.held = { envoyId: ident.id.envoy_id, hostname: ident.id.hostname, certFile: identityFiles(ctx.env).cert, cert: ident.cert, key: ident.key, ca: ident.ca };
    this.openStream();
    const intervalMs = (this.cfg.interval_s ?? ident.id.interval_s ?? 60) * 1000;
    this.intervalMs = intervalMs;
    this.schedule = new CheckinSchedule({ intervalMs, ...(this.random ? { random: this.random } : {}) });
    ctx.log(`checkin: envoy ${ident.id.hostname} (${ident.id.envoy_id}) checking in to ${this.addr} every ${intervalMs / 1000}s (±25%; backoff with jitter while the server is away)`);
    this.kick();
  }

  /** A stream with the certificate held now (again after a renewal). */
  private openStream(): void {
    const held = this.held as HeldCert;
    this.stream?.close();
    const stream = new CheckinStream(this.addr, { ca: held.ca, key: held.key, cert: held.cert });
    stream.onPush = (reason) => {
      this.ctx.log(`checkin: server asked for a check-in now (${reason})`);
      this.kick();
    };
    stream.onClosed = (e) => {
      if (this.stopped || this.stream !== stream) return;
      if (!this.away) this.ctx.log(`checkin: stream closed: ${e.message}`);
      // reconnect after a jittered backoff, not all envoys at once (and not before the next tick anyway)
      if (!this.running) this.scheduleNext(this.schedule.afterFailure());
    };
    this.stream = stream;
  }

  private scheduleNext(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), delayMs);
  }

  /** Run a tick now, or right after the one in progress. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      let ok = false;
      do {
        this.again = false;
        ok = await this.tick().catch((e: unknown) => {
          this.ctx.log(`checkin: ${e instanceof Error ? e.message : String(e)}`);
          return !this.away;
        });
      } while (this.again && !this.stopped);
      this.running = null;
      this.scheduleNext(ok ? this.schedule.afterSuccess() : this.schedule.afterFailure());
    })();
  }

  /** One tick; true when the server answered the check-in. */
  private async tick(): Promise<boolean> {
    const stream = this.stream;
    if (!stream) return false;
    const timeoutMs = this.cfg.timeout_s * 1000;
    let fresh = false;
    try {
      const m = await stream.checkin(this.bundle?.version ?? 0, this.fingerprint, timeoutMs);
      if (this.away) this.ctx.log('checkin: server reachable again');
      this.away = false;
      fresh = true;
      if (m.bundle) this.takeBundle(m.bundle.version, m.bundle.bundle_json);
    } catch (e) {
      const cached = this.bundle ? ` (version ${this.bundle.version})` : ' (none yet)';
      if (!this.away) {
        if (e instanceof VigoError && e.code === 'E_CHECKIN_TOO_LARGE') {
          this.ctx.log(`checkin: ${e.message}; converging from the cached bundle${cached}`);
        } else if (e instanceof VigoError && e.code === 'E_CHECKIN_REFUSED') {
          this.ctx.log(`checkin: the server refuses this envoy (${e.message}); enroll again with \`vigo agent enroll --force\`; converging from the cached bundle${cached}`);
        } else {
          this.ctx.log(`checkin: server unreachable (${e instanceof Error ? e.message : String(e)}); converging from the cached bundle${cached}`);
        }
      }
      this.away = true;
    }
    // backoff retries while the server is away do not converge more often than the interval
    if (this.bundle && (fresh || Date.now() - this.lastConvergeMs >= this.intervalMs)) {
      this.lastConvergeMs = Date.now();
      const report = await converge(this.bundle, agentConvergeOptions(this.ctx.env));
      this.fingerprint = stateFingerprint(report);
      if (report.status !== 'ok') this.ctx.log(`checkin: run ${report.status}: ${report.counts.changed} changed, ${report.counts.failed} failed (policy ${report.policy_version})`);
      try {
        this.spool(report);
      } catch (e) {
        this.ctx.log(`checkin: ${describeLocalFailure(e, `spooling the run report in ${join(this.stateDir, 'spool')}`)}; the report of this run is not kept`);
      }
    }
    if (!this.away) await this.flushSpool(stream, timeoutMs);
    if (!this.away) await this.maybeRenew(stream, timeoutMs);
    return !this.away;
  }

  /** Validate and cache a bundle the server sent; a local failure is named as one. */
  private takeBundle(version: number, json: string): void {
    let b: PolicyBundle;
    try {
      b = parseBundle(JSON.parse(json));
    } catch (e) {
      this.ctx.log(`checkin: the server sent policy version ${version}, which this agent cannot use (${e instanceof Error ? e.message : String(e)}); keeping the bundle it holds`);
      return;
    }
    const file = join(this.stateDir, 'bundle.json');
    try {
      writeFileAtomic(file, json, { mode: 0o600 });
    } catch (e) {
      // converge from it anyway: only the copy for the next restart is missing
      this.ctx.log(`checkin: received policy version ${b.version}, but ${describeLocalFailure(e, `caching it at ${file}`)}; applying it from memory`);
    }
    this.bundle = b;
    this.ctx.log(`checkin: received policy version ${b.version} (${b.resources.length} resources)`);
  }

  /** Renew the client certificate over the stream once it is due; then reconnect with it. */
  private async maybeRenew(stream: CheckinStream, timeoutMs: number): Promise<void> {
    const held = this.held;
    const now = Date.now();
    if (!held || now < this.renewNotBefore || !renewalDue(held.cert, now)) return;
    const expires = new Date(certValidity(held.cert).notAfter).toISOString();
    try {
      const cert = await renewCert(stream, held, timeoutMs);
      this.held = { ...held, cert };
      this.ctx.log(`checkin: renewed the client certificate (it expired ${expires}; the new one is valid until ${new Date(certValidity(cert).notAfter).toISOString()})`);
      this.openStream();
    } catch (e) {
      const left = certValidity(held.cert).notAfter - now;
      this.renewNotBefore = now + Math.min(3_600_000, Math.max(1000, Math.floor(left / 10)));
      this.ctx.log(`checkin: ${describeLocalFailure(e, 'renewing the client certificate')}; the current one expires ${expires}; retrying in ${Math.round((this.renewNotBefore - now) / 1000)}s`);
    }
  }

  private spool(report: RunReport): void {
    const dir = join(this.stateDir, 'spool');
    const name = `${String(Date.now()).padStart(15, '0')}-${randomUUID()}.json`;
    writeFileAtomic(join(dir, name), JSON.stringify(report), { mode: 0o600 });
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    for (const f of files.slice(0, Math.max(0, files.length - this.cfg.spool_max))) rmSync(join(dir, f), { force: true });
  }

  private async flushSpool(stream: CheckinStream, timeoutMs: number): Promise<void> {
    const dir = join(this.stateDir, 'spool');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
      if (this.stopped) return;
      const runId = f.slice(16, -5);
      await stream.sendRun(runId, readFileSync(join(dir, f), 'utf8'), timeoutMs);
      rmSync(join(dir, f), { force: true });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.stream?.close();
  }
}
