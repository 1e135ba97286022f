/**
 * The `status` answer, computed off the event loop (a worker thread), shared by every
 * caller for `cacheMs`, one scan at a time, and bounded: at most `maxRepos` repos and
 * `maxEntries` directory entries sized per scan (the stalest first; the others keep their
 * last figures), and a scan running past `timeoutMs` is stopped. So a user who floods
 * status, or who owns hundreds of repos, costs the daemon one bounded scan per interval.
 */
import { Worker } from 'node:worker_threads';
import { VigoError } from '../../platform/errors.js';
import type { Env } from '../../platform/paths.js';
import type { Clock } from '../../platform/clock.js';
import type { EnvoyStatus, RepoFigures } from '../status.js';
import type { StatusJob } from './status-worker.js';

export interface StatusServiceOptions {
  env: Env;
  passwdFile: string;
  cacheMs: number;
  maxRepos: number;
  maxEntries: number;
  timeoutMs: number;
  log: (m: string) => void;
  /** decides whether the cached answer is still fresh (and times a scan for the log) */
  clock: Clock;
}

export class StatusService {
  private cached: { at: number; status: EnvoyStatus } | null = null;
  private inflight: Promise<EnvoyStatus> | null = null;
  private figures = new Map<string, RepoFigures>();
  /** scans run so far (for the log and tests) */
  scans = 0;

  constructor(private readonly opts: StatusServiceOptions) {}

  /** bumped by invalidate(): a scan started before it is neither cached nor shared after it */
  private generation = 0;
  private inflightGeneration = -1;

  /** The envoy changes through the daemon (a push, a migration, a sweep): the next get scans anew. */
  invalidate(): void {
    this.generation++;
    this.cached = null;
  }

  get(): Promise<EnvoyStatus> {
    const c = this.cached;
    if (c && this.opts.clock.now() - c.at < this.opts.cacheMs) return Promise.resolve(c.status);
    if (this.inflight === null || this.inflightGeneration !== this.generation) {
      const gen = this.generation;
      const run: Promise<EnvoyStatus> = this.scan(gen).finally(() => {
        if (this.inflight === run) this.inflight = null;
      });
      this.inflight = run;
      this.inflightGeneration = gen;
    }
    return this.inflight;
  }

  private scan(gen: number): Promise<EnvoyStatus> {
    this.scans++;
    const job: StatusJob = {
      env: { ...this.opts.env },
      passwdFile: this.opts.passwdFile,
      maxRepos: this.opts.maxRepos,
      maxEntries: this.opts.maxEntries,
      figures: this.figures,
      nowMs: this.opts.clock.now(),
    };
    const started = job.nowMs;
    return new Promise<EnvoyStatus>((resolve, reject) => {
      const w = new Worker(new URL('./status-worker.js', import.meta.url), { workerData: job });
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        void w.terminate();
        this.opts.log(`status scan stopped after ${this.opts.timeoutMs} ms (gitback.status_timeout_s)`);
        // an earlier answer beats none; its figures are marked as not from this scan
        if (this.cached) resolve(this.cached.status);
        else reject(new VigoError('E_STATUS_TIMEOUT', `the status scan took longer than ${this.opts.timeoutMs / 1000} s and was stopped`, { hint: 'retry; each scan sizes more repos' }));
      }, this.opts.timeoutMs);
      w.once('message', (m: { status: EnvoyStatus; figures: Map<string, RepoFigures> }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.figures = m.figures;
        if (gen === this.generation) this.cached = { at: this.opts.clock.now(), status: m.status };
        if (this.opts.clock.now() - started > 1_000) this.opts.log(`status scan took ${this.opts.clock.now() - started} ms (${m.status.bare_repos} bare repo(s))`);
        resolve(m.status);
      });
      w.once('error', (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(e);
      });
      w.once('exit', (code) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`status worker exited ${code} without an answer`));
      });
    });
  }
}
