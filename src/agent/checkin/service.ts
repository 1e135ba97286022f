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
import { isEnrolled, readIdentity } from './identity.js';
import { CheckinStream } from './stream.js';
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

export class CheckinService implements AgentService {
  readonly name = 'checkin';
  private stream: CheckinStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private bundle: PolicyBundle | null = null;
  private fingerprint = '';
  private running: Promise<void> | null = null;
  private again = false;
  private away = false;
  private stopped = false;
  private ctx!: AgentContext;
  private cfg!: CheckinSection;
  private stateDir = '';

  constructor(private readonly config: AgentConfig) {}

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
    const addr = this.cfg.grpc_addr ?? ident.id.grpc_addr;
    this.stream = new CheckinStream(addr, { ca: ident.ca, key: ident.key, cert: ident.cert });
    this.stream.onPush = (reason) => {
      ctx.log(`checkin: server asked for a check-in now (${reason})`);
      this.kick();
    };
    this.stream.onClosed = (e) => {
      if (!this.stopped && !this.away) ctx.log(`checkin: stream closed: ${e.message}`);
    };
    const intervalMs = (this.cfg.interval_s ?? ident.id.interval_s ?? 60) * 1000;
    ctx.log(`checkin: envoy ${ident.id.hostname} (${ident.id.envoy_id}) checking in to ${addr} every ${intervalMs / 1000}s`);
    this.kick();
    this.timer = setInterval(() => this.kick(), intervalMs);
  }

  /** Run a tick now, or right after the one in progress. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.tick().catch((e: unknown) => this.ctx.log(`checkin: ${e instanceof Error ? e.message : String(e)}`));
      } while (this.again && !this.stopped);
      this.running = null;
    })();
  }

  private async tick(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    const timeoutMs = this.cfg.timeout_s * 1000;
    try {
      const m = await stream.checkin(this.bundle?.version ?? 0, this.fingerprint, timeoutMs);
      if (this.away) this.ctx.log('checkin: server reachable again');
      this.away = false;
      if (m.bundle) {
        const b = parseBundle(JSON.parse(m.bundle.bundle_json));
        writeFileAtomic(join(this.stateDir, 'bundle.json'), m.bundle.bundle_json, { mode: 0o600 });
        this.bundle = b;
        this.ctx.log(`checkin: received policy version ${b.version} (${b.resources.length} resources)`);
      }
    } catch (e) {
      const cached = this.bundle ? ` (version ${this.bundle.version})` : ' (none yet)';
      if (!this.away) {
        if (e instanceof VigoError && e.code === 'E_CHECKIN_REFUSED') {
          this.ctx.log(`checkin: the server refuses this envoy (${e.message}); enroll again with \`vigo agent enroll --force\`; converging from the cached bundle${cached}`);
        } else {
          this.ctx.log(`checkin: server unreachable (${e instanceof Error ? e.message : String(e)}); converging from the cached bundle${cached}`);
        }
      }
      this.away = true;
    }
    if (this.bundle) {
      const report = await converge(this.bundle, agentConvergeOptions(this.ctx.env));
      this.fingerprint = stateFingerprint(report);
      if (report.status !== 'ok') this.ctx.log(`checkin: run ${report.status}: ${report.counts.changed} changed, ${report.counts.failed} failed (policy ${report.policy_version})`);
      this.spool(report);
    }
    if (!this.away) await this.flushSpool(stream, timeoutMs);
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
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    this.stream?.close();
  }
}
