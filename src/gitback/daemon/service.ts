/**
 * The gitback part of `vigo agent run`: the helper daemon on the socket and the root
 * reactor (sweep every `sweep_interval_s`, reap after `envelope_retention_days`).
 * Configured by agent.yaml's `gitback` section:
 *   gitback:
 *     socket: /var/run/vigo/gitback.sock      # default under VIGO_ROOT
 *     sweep_interval_s: 60
 *     envelope_retention_days: 90
 *     passwd_file: /etc/passwd
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentContext, AgentService } from '../../agent/daemon.js';
import type { AgentConfig } from '../../agent/config.js';
import { VigoError } from '../../platform/errors.js';
import { paths } from '../../platform/paths.js';
import { VerifyCache } from '../../trust/index.js';
import { GitbackDaemon } from './server.js';
import { authorize, authorizeMigrate } from './access.js';
import { collectStatus } from '../status.js';
import { readPasswd } from '../passwd.js';
import { ownedReader } from '../state.js';
import { reapOnce, sweepOnce } from '../reactor.js';
import { EnvelopeCache } from '../envelopes.js';

export interface GitbackConfig {
  socket: string | null;
  sweep_interval_s: number;
  envelope_retention_days: number;
  passwd_file: string;
}

export function parseGitbackConfig(config: AgentConfig): GitbackConfig {
  const s = config.sections.gitback ?? {};
  const out: GitbackConfig = { socket: null, sweep_interval_s: 60, envelope_retention_days: 90, passwd_file: '/etc/passwd' };
  for (const [k, v] of Object.entries(s)) {
    const where = `${config.file}: gitback.${k}`;
    if (k === 'socket' || k === 'passwd_file') {
      if (typeof v !== 'string' || v === '') throw new VigoError('E_CONFIG', `${where} must be a path`);
      out[k] = v;
    } else if (k === 'sweep_interval_s' || k === 'envelope_retention_days') {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new VigoError('E_CONFIG', `${where} must be a positive number`);
      out[k] = v;
    } else {
      throw new VigoError('E_CONFIG', `${config.file}: unknown field gitback.${k}`, { hint: 'known: socket, sweep_interval_s, envelope_retention_days, passwd_file' });
    }
  }
  return out;
}

/**
 * System directories: the shared parents stay traversable (users reach the socket and
 * their usercrate policy file through them); the bare repos and envelopes are root's alone.
 */
function prepareDirs(env: NodeJS.ProcessEnv): void {
  for (const d of [paths.varLib(env), paths.varRun(env), join(paths.varLib(env), 'swarm'), paths.gitbackBase(env)]) mkdirSync(d, { recursive: true, mode: 0o755 });
  for (const d of [paths.gitbackProjects(env), paths.gitbackEnvelopes(env)]) mkdirSync(d, { recursive: true, mode: 0o700 });
}

export class GitbackService implements AgentService {
  readonly name = 'gitback';
  daemon: GitbackDaemon | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly cfg: GitbackConfig) {}

  async start(ctx: AgentContext): Promise<void> {
    const env = ctx.env;
    const now = () => Math.floor(Date.now() / 1000);
    const cache = new VerifyCache();
    const envelopes = new EnvelopeCache();
    const socketPath = this.cfg.socket ?? paths.gitbackSocket(env);
    const passwdFile = this.cfg.passwd_file;
    const log = (m: string) => ctx.log(`gitback: ${m}`);
    prepareDirs(env);
    this.daemon = new GitbackDaemon({
      socketPath,
      log,
      authorize: (cred, req) => authorize({ env, passwdFile, now, log, cache, envelopes }, cred, req),
      authorizeMigrate: (cred, req) => authorizeMigrate({ env, passwdFile, now, log, cache, envelopes }, cred, req),
      status: (cred) => {
        // root sees every user's state; anyone else gets the same envoy-wide figures
        // (counts and sizes only — no user's files are disclosed beyond that)
        void cred;
        const holders = readPasswd(passwdFile).map((u) => ({ home: u.home, read: ownedReader(u.uid) }));
        return Promise.resolve(collectStatus(env, holders, false));
      },
    });
    await this.daemon.listen();
    log(`helper daemon listening on ${socketPath}`);
    const tick = () => {
      try {
        const r = sweepOnce({ env, passwdFile, now, log });
        if (r.revokes + r.leaves + r.rejected + r.tombstones > 0) log(`sweep: ${r.revokes} revoke(s), ${r.leaves} leave(s), ${r.tombstones} tombstone(s), ${r.rejected} rejected`);
        reapOnce(env, Date.now(), this.cfg.envelope_retention_days * 86400, log);
      } catch (e) {
        log(`sweep failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    tick();
    this.timer = setInterval(tick, this.cfg.sweep_interval_s * 1000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.daemon?.close();
    this.daemon = null;
  }
}

export function gitbackService(config: AgentConfig): AgentService {
  return new GitbackService(parseGitbackConfig(config));
}
