/**
 * The check-in service of `vigo agent run`. Every interval (and whenever the server pushes
 * through the stream) it checks in with its policy version and state fingerprint, takes a
 * new bundle if the server has one, converges the host to the bundle it holds, and reports
 * the run. Bundles are cached on disk and runs are spooled until acknowledged, so the
 * envoy keeps converging while the server is away and loses no report when it comes back.
 * A report is capped before it is spooled; one the server refuses anyway (its shape, or
 * its size) goes to the dead-letter directory and is replaced by a small failed run saying
 * so, and the rest of the spool flows on. A bundle the envoy cannot take (unparseable, or
 * the disk refusing its copy) is named in the next run's `policy_error`.
 *
 * agent.yaml:
 *   checkin:
 *     interval_s: 60        # default: what the server said at enrollment
 *     grpc_addr: HOST:PORT  # default: what the server said at enrollment
 *     timeout_s: 10
 *     spool_max: 1000
 *     report_max_bytes: 1048576   # a bigger report is cut before it is spooled
 *     dead_letter_max: 50         # refused reports kept for the operator
 *     traits: true                # report swarm traits (docs/swarm.md "Traits")
 *     traits_max_age_s: 60        # recollect at least this often even when nothing seems changed
 */
import { createHash, randomUUID, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { AgentContext, AgentService } from '../daemon.js';
import type { AgentConfig } from '../config.js';
import { writeFileAtomic, writeJsonAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { caBundleSha256, checkCaBundle, identityFiles, isEnrolled, readIdentity, type EnvoyIdentity } from './identity.js';
import type { MovedMsg } from '../../wire/checkin.js';
import { CheckinStream } from './stream.js';
import { CheckinSchedule } from './schedule.js';
import { renewCert, renewalDue, type HeldCert } from './renew.js';
import { certValidity } from '../../wire/enroll.js';
import { agentConvergeOptions, converge, parseBundle, type PolicyBundle, type RunReport } from './engine-port.js';
import { boundReport, MIN_REPORT_CAP_BYTES } from '../../wire/run-report.js';
import { assignmentOfMsg, type SwarmAssignmentMsg, type SwarmFleetMsg } from '../../wire/checkin.js';
import { decidingGate, readSwarmAssignment, sameAssignment, writeSwarmAssignment, assignmentFile, type SwarmAssignment } from '../../wire/swarm-assignment.js';
import { nameMapFile } from '../../wire/swarm-fleet.js';
import { TraitsCollector } from '../traits/collect.js';
import { heldFleetSha, writeFleetFiles } from '../traits/fleet-files.js';
import { parseGitbackConfig, readPasswd } from '../../gitback/index.js';

/** The server's receive limit is 8 MiB; an agent report must leave room under it. */
const REPORT_CAP_MAX_BYTES = 7 * 1024 * 1024;
/** How much of a refused report its dead-letter file keeps. */
const DEAD_LETTER_KEEP_BYTES = 1024 * 1024;

/** A run report as the agent sends it: the engine's, plus what the agent adds. */
export type SentReport = RunReport & {
  truncated?: { bytes: number; resources_omitted: number };
  /** the newest bundle this envoy was offered and could not take */
  policy_error?: { version: number; message: string };
  /** set on the small failed run that replaces a report the server refused */
  refused?: { bytes: number; reason: string };
};

const section = z
  .object({
    interval_s: z.number().positive().optional(),
    grpc_addr: z.string().regex(/^.+:\d{1,5}$/, 'must be HOST:PORT').optional(),
    timeout_s: z.number().positive().default(10),
    spool_max: z.number().int().positive().default(1000),
    report_max_bytes: z.number().int().min(MIN_REPORT_CAP_BYTES).max(REPORT_CAP_MAX_BYTES).default(1024 * 1024),
    dead_letter_max: z.number().int().positive().max(10_000).default(50),
    traits: z.boolean().default(true),
    traits_max_age_s: z.number().positive().max(86_400).default(60),
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
/** The server refused this run report itself (shape or size): resending cannot help. */
function refusedForGood(e: unknown): e is VigoError {
  return e instanceof VigoError && (e.code === 'E_CHECKIN_INVALID' || e.code === 'E_CHECKIN_TOO_LARGE');
}

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
  /** SHA-256 of ca.crt as held, told to the bolt at each check-in (it sends a newer bundle) */
  private trustSha256 = '';
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
  private policyError: { version: number; message: string } | null = null;
  /** a report the disk would not take, sent from memory */
  private unspooled: { name: string; json: string } | null = null;
  private readonly swarmListeners: Array<(a: SwarmAssignment) => void> = [];
  private readonly identityListeners: Array<() => void> = [];
  private swarmHeld: SwarmAssignment | null = null;
  private traits: TraitsCollector | null = null;
  /** the traits sha the server last acknowledged (null: not heard yet; '' a server without traits) */
  private traitsAcked: string | null = null;
  /** the traits' cut notes last logged ('' none) */
  private cutLogged = '';
  /** the fleet sha of the name map and hints held */
  private fleetSha = '';

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
    try {
      this.swarmHeld = readSwarmAssignment(ctx.env);
    } catch (e) {
      ctx.log(`checkin: ${e instanceof Error ? e.message : String(e)}; the server's next assignment replaces it`);
    }
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
    this.trustSha256 = caBundleSha256(ident.ca);
    this.fleetSha = heldFleetSha(ctx.env);
    if (this.cfg.traits) {
      let passwdFile = '/etc/passwd';
      try {
        passwdFile = parseGitbackConfig(this.config).passwd_file;
      } catch {
        // the gitback service reports a bad gitback section; traits read the system's file
      }
      this.traits = new TraitsCollector({
        env: ctx.env,
        passwdFile,
        maxAgeMs: this.cfg.traits_max_age_s * 1000,
        log: ctx.log,
        users: () => {
          try {
            return readPasswd(passwdFile);
          } catch (e) {
            ctx.log(`checkin: traits: cannot read ${passwdFile} (${e instanceof Error ? e.message : String(e)}); no user is reported`);
            return [];
          }
        },
      });
    }
    this.openStream();
    const intervalMs = (this.cfg.interval_s ?? ident.id.interval_s ?? 60) * 1000;
    this.intervalMs = intervalMs;
    this.schedule = new CheckinSchedule({ intervalMs, ...(this.random ? { random: this.random } : {}) });
    ctx.log(`checkin: envoy ${ident.id.hostname} (${ident.id.envoy_id}) checking in to ${this.addr} every ${intervalMs / 1000}s (±25%; backoff with jitter while the server is away)`);
    this.kick();
  }

  /**
   * Called after this envoy's certificate or CA bundle on disk changed (a new bolt CA in
   * the spanner's bundle, a move): the swarm transport trusts and presents what is there now.
   */
  onIdentityChanged(listener: () => void): void {
    this.identityListeners.push(listener);
  }

  private identityChanged(): void {
    for (const l of this.identityListeners) {
      try {
        l();
      } catch (e) {
        this.ctx?.log(`checkin: an identity listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  /** Called with every swarm assignment the server sends (after it is kept on disk). */
  onSwarmAssignment(listener: (a: SwarmAssignment) => void): void {
    this.swarmListeners.push(listener);
  }

  /**
   * The server's swarm assignment: kept in /var/lib/vigo/swarm/assignment.json (0644,
   * atomically; the per-user verbs read it) when it changed, then handed to the listeners.
   */
  private takeSwarm(m: SwarmAssignmentMsg): void {
    let a: SwarmAssignment;
    try {
      a = assignmentOfMsg(m);
    } catch (e) {
      this.ctx.log(`checkin: ignoring a malformed swarm assignment from the server (${e instanceof Error ? e.message : String(e)}); keeping the last one`);
      return;
    }
    if (!sameAssignment(this.swarmHeld, a)) {
      try {
        writeSwarmAssignment(this.ctx.env, a, Math.floor(Date.now() / 1000));
        this.swarmHeld = a;
      } catch (e) {
        this.ctx.log(`checkin: ${describeLocalFailure(e, `keeping the swarm assignment in ${assignmentFile(this.ctx.env)}`)}; the swarm verbs read the old one until it is written`);
      }
      const say = (s: 'gitback' | 'puddle') => {
        const d = decidingGate(a, s);
        return `${s} ${d.allowed ? 'on' : 'off'} (${d.verdict.setting}: ${d.verdict.pattern === null ? 'no pattern matched' : `pattern "${d.verdict.pattern}"`})`;
      };
      this.ctx.log(`checkin: swarm assignment for ${a.hostname}: ${say('gitback')}, ${say('puddle')}`);
    }
    for (const l of this.swarmListeners) l(a);
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
    stream.onSwarm = (m) => this.takeSwarm(m);
    stream.onTrust = (bundle) => this.takeTrust(bundle);
    stream.onFleet = (m) => this.takeFleet(m);
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
      const swarm = this.swarmFields();
      const m = await stream.checkin(this.bundle?.version ?? 0, this.fingerprint, timeoutMs, this.trustSha256, swarm);
      if (this.away) this.ctx.log('checkin: server reachable again');
      this.away = false;
      if (m.ack) {
        const acked = m.ack.traits_sha256 ?? '';
        // the server holds none or others (restarted on an empty database, another bolt): send them now
        if (swarm.traits_json === '' && acked !== '' && swarm.traits_sha256 !== '' && acked !== swarm.traits_sha256) this.again = true;
        this.traitsAcked = acked;
      }
      if (m.moved) {
        // this envoy now belongs to another bolt: check in there at once (spooled runs go there)
        this.takeMove(m.moved);
        this.again = true;
        return true;
      }
      fresh = true;
      if (m.bundle) this.takeBundle(m.bundle.version, m.bundle.bundle_json);
      else if (m.ack && m.ack.policy_version === (this.bundle?.version ?? 0)) this.policyError = null;
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
      const report: SentReport = await converge(this.bundle, agentConvergeOptions(this.ctx.env));
      this.fingerprint = stateFingerprint(report);
      if (report.status !== 'ok') this.ctx.log(`checkin: run ${report.status}: ${report.counts.changed} changed, ${report.counts.failed} failed (policy ${report.policy_version})`);
      if (this.policyError) report.policy_error = this.policyError;
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

  /**
   * Validate and cache a bundle the server sent. One this envoy cannot use is kept as a
   * policy error for the next run report (the server shows the envoy as stale-policy);
   * a cache copy the disk refuses is named as a local failure and the bundle applied from
   * memory (only the copy for the next restart is missing).
   */
  private takeBundle(version: number, json: string): void {
    let b: PolicyBundle;
    try {
      b = parseBundle(JSON.parse(json));
    } catch (e) {
      const message = (e instanceof Error ? e.message : String(e)).slice(0, 2000);
      if (this.policyError?.version !== version || this.policyError.message !== message) {
        const held = this.bundle ? `version ${this.bundle.version}` : 'no bundle';
        this.ctx.log(`checkin: cannot take policy version ${version} (${message}); keeping ${held}; the next run report tells the server why`);
      }
      this.policyError = { version, message };
      return;
    }
    const file = join(this.stateDir, 'bundle.json');
    try {
      writeFileAtomic(file, json, { mode: 0o600 });
    } catch (e) {
      this.ctx.log(`checkin: received policy version ${b.version}, but ${describeLocalFailure(e, `caching it at ${file}`)}; applying it from memory`);
    }
    this.bundle = b;
    this.policyError = null;
    this.ctx.log(`checkin: received policy version ${b.version} (${b.resources.length} resources)`);
  }

  /**
   * The swarm fields of a check-in: the traits sha, the traits themselves only when the
   * server has not acknowledged that sha (and speaks traits), the fleet sha held.
   */
  private swarmFields(): { traits_sha256: string; traits_json: string; fleet_sha256: string } {
    let t;
    try {
      t = this.traits?.current();
    } catch (e) {
      this.ctx.log(`checkin: collecting traits failed (${e instanceof Error ? e.message : String(e)}); checking in without them`);
    }
    if (t === undefined) return { traits_sha256: '', traits_json: '', fleet_sha256: this.fleetSha };
    const send = this.traitsAcked !== '' && this.traitsAcked !== t.sha256;
    // said once per change: a check-in retried while the server is away must not repeat it
    const cut = t.traits.cut?.join('; ') ?? '';
    if (send && cut !== '' && cut !== this.cutLogged) this.ctx.log(`checkin: traits cut to stay in bounds: ${cut}`);
    if (send) this.cutLogged = cut;
    return { traits_sha256: t.sha256, traits_json: send ? t.text : '', fleet_sha256: this.fleetSha };
  }

  /** The fleet name map and peer hints: checked, then kept for git-remote-gitback and fan-out. */
  private takeFleet(m: SwarmFleetMsg): void {
    try {
      const w = writeFleetFiles(this.ctx.env, m);
      const changed = this.fleetSha !== w.sha256;
      this.fleetSha = w.sha256;
      if (changed) this.ctx.log(`checkin: fleet name map (${Object.keys(w.nameMap.names).length} names) and peer hints (${Object.keys(w.hints.projects).length} projects) kept in ${nameMapFile(this.ctx.env).replace(/name-map\.json$/, '')}`);
    } catch (e) {
      this.ctx.log(`checkin: ${describeLocalFailure(e, 'taking the fleet name map and peer hints')}; keeping the ones held`);
    }
  }

  /** The bolt's CA bundle (every live bolt's CA): kept as ca.crt for the next connection. */
  private takeTrust(bundle: string): void {
    const held = this.held;
    if (!held) return;
    const f = identityFiles(this.ctx.env);
    try {
      const checked = checkCaBundle(bundle, 'the CA bundle the server sent');
      writeFileAtomic(f.ca, checked, { mode: 0o644 });
      this.held = { ...held, ca: checked };
      this.trustSha256 = caBundleSha256(checked);
      this.ctx.log(`checkin: now trusting ${checked.split('BEGIN CERTIFICATE').length - 1} bolt CA(s) (${f.ca})`);
    } catch (e) {
      this.ctx.log(`checkin: ${describeLocalFailure(e, `taking the server's CA bundle into ${f.ca}`)}`);
      return;
    }
    this.identityChanged();
  }

  /**
   * Moved to another bolt (reassign, drain): its certificate (for this envoy's own key,
   * signed by the new bolt's CA), the CA bundle and the new address are written atomically
   * (certificate, then CA bundle, then identity.json: a crash in between leaves an identity
   * the old bolt still redirects), and the stream reopens there. No enrollment.
   */
  private takeMove(m: MovedMsg): void {
    const held = this.held as HeldCert;
    const f = identityFiles(this.ctx.env);
    try {
      if (!/^.+:\d{1,5}$/.test(m.grpc_addr)) throw new VigoError('E_MOVED', `the new check-in address "${m.grpc_addr.slice(0, 100)}" is not HOST:PORT`);
      const bundle = checkCaBundle(m.ca_bundle, 'the CA bundle of the move');
      const mine = createPublicKey(createPrivateKey(held.key)).export({ type: 'spki', format: 'der' });
      const theirs = new X509Certificate(m.cert).publicKey.export({ type: 'spki', format: 'der' });
      if (!mine.equals(theirs)) throw new VigoError('E_MOVED', 'the certificate of the move is not for this envoy\'s key');
      writeFileAtomic(f.cert, m.cert, { mode: 0o644 });
      writeFileAtomic(f.ca, bundle, { mode: 0o644 });
      const id = JSON.parse(readFileSync(f.identity, 'utf8')) as EnvoyIdentity;
      writeJsonAtomic(f.identity, { ...id, grpc_addr: m.grpc_addr, server: m.server || id.server, bolt_id: m.bolt_id, moved_at: new Date().toISOString() }, { mode: 0o644 });
      this.held = { ...held, cert: m.cert, ca: bundle };
      this.trustSha256 = caBundleSha256(bundle);
    } catch (e) {
      this.ctx.log(`checkin: ${describeLocalFailure(e, `moving to bolt ${m.bolt_id} (${m.grpc_addr})`)}; staying with the current server`);
      return;
    }
    this.identityChanged();
    if (this.cfg.grpc_addr) {
      this.ctx.log(`checkin: moved to bolt ${m.bolt_id} at ${m.grpc_addr}, but agent.yaml's checkin.grpc_addr pins ${this.cfg.grpc_addr}; following the move until restart (remove the pin to keep it)`);
    } else this.ctx.log(`checkin: moved to bolt ${m.bolt_id}: checking in at ${m.grpc_addr} from now on (no re-enrollment)`);
    this.addr = m.grpc_addr;
    this.traitsAcked = null; // the new bolt has not heard them
    this.openStream();
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

  private spool(report: SentReport): void {
    const dir = join(this.stateDir, 'spool');
    const name = `${String(Date.now()).padStart(15, '0')}-${randomUUID()}.json`;
    const { json, truncated } = boundReport(report, this.cfg.report_max_bytes);
    if (truncated.bytes > 0) this.ctx.log(`checkin: run report cut to checkin.report_max_bytes (${this.cfg.report_max_bytes}): ${truncated.bytes} bytes / ${truncated.resources_omitted} resources omitted`);
    try {
      writeFileAtomic(join(dir, name), json, { mode: 0o600 });
    } catch (e) {
      // e.g. a full disk: the server still hears of this run, if it is reachable now
      this.ctx.log(`checkin: ${describeLocalFailure(e, `spooling the run report in ${dir}`)}; sending it from memory`);
      this.unspooled = { name, json };
      return;
    }
    this.unspooled = null;
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    for (const f of files.slice(0, Math.max(0, files.length - this.cfg.spool_max))) rmSync(join(dir, f), { force: true });
  }

  private async flushSpool(stream: CheckinStream, timeoutMs: number): Promise<void> {
    const dir = join(this.stateDir, 'spool');
    const pending = this.unspooled;
    if (pending) {
      try {
        await stream.sendRun(runIdOf(pending.name), pending.json, timeoutMs);
      } catch (e) {
        if (!refusedForGood(e)) throw e;
        this.ctx.log(`checkin: the server refused run ${runIdOf(pending.name)}, which could not be spooled either (${e.message}); dropped it`);
      }
      this.unspooled = null;
    }
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
      if (this.stopped) return;
      const file = join(dir, f);
      const json = readFileSync(file, 'utf8');
      try {
        await stream.sendRun(runIdOf(f), json, timeoutMs);
      } catch (e) {
        if (!refusedForGood(e)) throw e;
        this.deadLetter(f, json, e.message);
        continue; // the stream is reopened by the next send
      }
      rmSync(file, { force: true });
    }
  }

  /**
   * The server refused a spooled report: keep it (bounded) under dead-letter/, and put in
   * its place a small failed run with the same run id that says so — the operator sees a
   * failed run, and the rest of the spool is not held up behind it.
   */
  private deadLetter(name: string, json: string, reason: string): void {
    const runId = runIdOf(name);
    const spooled = join(this.stateDir, 'spool', name);
    const dir = join(this.stateDir, 'dead-letter');
    const target = join(dir, name);
    const bytes = Buffer.byteLength(json, 'utf8');
    const orig = readReport(json);
    if (orig.refused !== undefined) {
      // its dead-letter file already holds the original
      this.ctx.log(`checkin: the server refused the failed run standing for refused run ${runId} too (${reason}); dropped it`);
      rmSync(spooled, { force: true });
      return;
    }
    let kept = `the original is kept on the envoy in ${target}`;
    try {
      const body = bytes <= DEAD_LETTER_KEEP_BYTES ? { report: json } : { report_head: Buffer.from(json, 'utf8').subarray(0, DEAD_LETTER_KEEP_BYTES).toString('utf8'), report_truncated: true };
      writeFileAtomic(target, JSON.stringify({ run_id: runId, refused_at: new Date().toISOString(), reason, bytes, ...body }, null, 1), { mode: 0o600, mkdirMode: 0o700 });
      const letters = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
      for (const f of letters.slice(0, Math.max(0, letters.length - this.cfg.dead_letter_max))) rmSync(join(dir, f), { force: true });
    } catch (e) {
      // a full disk must not hold the spool up either: the failed run still says why
      kept = `the original could not be kept in ${target} (${e instanceof Error ? e.message : String(e)})`;
    }
    this.ctx.log(`checkin: the server refused run ${runId} (${bytes} bytes): ${reason}; ${kept}; reporting the run as failed instead`);
    const out = JSON.stringify(refusedRunReport(orig, bytes, reason, kept, this.bundle?.version ?? 0));
    try {
      writeFileAtomic(spooled, out, { mode: 0o600 });
    } catch {
      rmSync(spooled, { force: true });
      this.unspooled = { name, json: out };
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    this.stream?.close();
  }
}

function runIdOf(spoolName: string): string {
  return spoolName.slice(16, -5);
}

/** The top-level fields of a spooled report, as far as they can be read ({} if not at all). */
function readReport(json: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // unreadable: the server's reason says so
  }
}

/**
 * The small failed run that stands for a refused report: what could be read of the
 * original (policy version, start, counts), and one failed `vigo:report` entry giving the
 * size, the reason and where the original is kept (`kept`).
 */
export function refusedRunReport(orig: Record<string, unknown>, bytes: number, reason: string, kept: string, heldVersion: number): SentReport {
  const int = (x: unknown) => (typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : 0);
  const c = (orig.counts && typeof orig.counts === 'object' ? orig.counts : {}) as Record<string, unknown>;
  const started = typeof orig.started_at === 'string' && orig.started_at.length > 0 && orig.started_at.length <= 64 ? orig.started_at : new Date().toISOString();
  const why = reason.slice(0, 500);
  return {
    policy_version: typeof orig.policy_version === 'number' && Number.isInteger(orig.policy_version) && orig.policy_version >= 0 ? orig.policy_version : heldVersion,
    started_at: started,
    duration_ms: int(orig.duration_ms),
    status: 'failed',
    counts: { ok: int(c.ok), changed: int(c.changed), failed: int(c.failed) + 1 },
    configcrates: int(orig.configcrates),
    resources: [{ id: 'vigo:report', type: 'report' as RunReport['resources'][number]['type'], status: 'failed', message: `the server refused this run's report (${bytes} bytes): ${why}; ${kept}` }],
    refused: { bytes, reason: why },
  };
}
