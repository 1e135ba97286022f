/**
 * What the server serves: the stacks loaded from `.live/`, the config version, and a
 * per-hostname cache of rendered bundles (JSON text, built once per version). The version
 * is stored with the fingerprint of the stacks it names, so a crash between the `.live`
 * swap and the version bump is noticed at the next start and bumped then.
 */
import { getMeta, setMeta, type Db } from './db.js';
import { loadStacks, resolveBundle, type Stacks, type StacksProblem } from './publish/stacks-port.js';
import { sweepLive } from './publish/live.js';
import { bootLive, publishLive, validateStacksDir } from './publish/publish.js';
import { VigoError } from '../platform/errors.js';

export class PolicyState {
  private stacks: Stacks | null = null;
  private cache = new Map<string, string>();
  /** hostnames whose bundle does not resolve at this version, and why (cleared with the cache) */
  private unresolvable = new Map<string, string>();
  private _version: number;
  private publishing: Promise<unknown> = Promise.resolve();
  /** Checks the validated candidate stacks before the swap; throws to refuse (set by the server: bundle sizes). */
  preflight: ((stacks: Stacks, nextVersion: number) => void) | null = null;
  /** why `.live` did not load at boot (null when it did, or nothing was published); shown by `server status` */
  liveError: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
    private readonly liveDir: string,
    private readonly stacksDir: string,
  ) {
    this._version = Number(getMeta(db, 'config_version') ?? '0');
  }

  get version(): number {
    return this._version;
  }

  get loaded(): boolean {
    return this.stacks !== null;
  }

  /** Load `.live/` at boot; bumps the version only if `.live` differs from what the DB names. */
  boot(): void {
    sweepLive(this.dataDir);
    const { stacks, error } = bootLive(this.dataDir);
    this.liveError = error;
    if (stacks === null) return;
    if (getMeta(this.db, 'config_fingerprint') !== stacks.fingerprint) this.bump(stacks.fingerprint);
    this.install(stacks);
  }

  /** Re-read `.live/` (POST /config/reload). */
  reload(): number {
    const stacks = loadStacks(this.liveDir);
    this.bump(stacks.fingerprint);
    this.install(stacks);
    this.liveError = null;
    return this._version;
  }

  /** Every problem in `stacks/`, with absolute paths an operator can open. */
  validate(): Promise<StacksProblem[]> {
    return validateStacksDir(this.stacksDir);
  }

  /**
   * Copy the stacks, validate the copy, swap `.live/` to it, serve it. Publishes are
   * serialized. `from`: another tree than `stacks/` (the stacks watcher's export of the
   * stacks project's head), published by the very same steps.
   */
  publish(from: string = this.stacksDir): Promise<{ version: number; files: number }> {
    const run = this.publishing.then(async () => {
      const { stacks, files } = await publishLive(from, this.dataDir, (candidate) => this.preflight?.(candidate, this._version + 1));
      this.bump(stacks.fingerprint);
      this.install(stacks);
      this.liveError = null;
      sweepLive(this.dataDir);
      return { version: this._version, files };
    });
    this.publishing = run.catch(() => undefined);
    return run;
  }

  private bump(fingerprint: string): void {
    const next = this._version + 1;
    this.db.transaction(() => {
      setMeta(this.db, 'config_version', String(next));
      setMeta(this.db, 'config_fingerprint', fingerprint);
    })();
    this._version = next;
  }

  private install(stacks: Stacks): void {
    this.stacks = stacks;
    this.cache = new Map();
    this.unresolvable = new Map();
  }

  /** The bundle JSON for a hostname at the current version (an empty bundle when nothing matches). */
  bundleJson(hostname: string, nowS: number): string {
    const hit = this.cache.get(hostname);
    if (hit !== undefined) return hit;
    const failed = this.unresolvable.get(hostname);
    // the stacks do not change within a version: a failure is one too until the next publish
    if (failed !== undefined) throw new VigoError('E_STACKS_RESOLVE', failed);
    let resolved: ReturnType<typeof resolveBundle> = null;
    try {
      resolved = this.stacks && resolveBundle(this.stacks, hostname, this._version, nowS);
    } catch (e) {
      this.unresolvable.set(hostname, e instanceof Error ? e.message : String(e));
      throw e;
    }
    const bundle = resolved ?? {
      version: this._version,
      envoy: hostname,
      generated_at: nowS,
      resources: [],
    };
    const json = JSON.stringify(bundle);
    this.cache.set(hostname, json);
    return json;
  }

  /** Why this hostname's bundle does not resolve at the current version (null: it does, or nobody asked yet). */
  resolveError(hostname: string): string | null {
    return this.unresolvable.get(hostname) ?? null;
  }
}
