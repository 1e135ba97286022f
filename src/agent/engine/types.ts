/** What the engine takes besides a bundle, and what `user` resources write (the gitback gate). */
export interface ConvergeOptions {
  /** the envoy's filesystem root: resource paths resolve under it ('/' on a real host) */
  fsRoot: string;
  /** envoy paths no resource may touch, e.g. /etc/vigo-envoy (resolved under fsRoot) */
  protectedPaths: string[];
  /** a host path: where `user` resources write `<user>.json` */
  usercratePolicyDir: string;
  /** the agent's own environment: exec commands get only PATH, HOME, LANG, LC_ALL and TZ of it */
  hostEnv: Readonly<Record<string, string | undefined>>;
  /** milliseconds since the epoch (default Date.now) */
  now?: () => number;
  dryRun?: boolean;
}

/** What `user` resources write to `<usercratePolicyDir>/<user>.json` (the gitback gate). */
export interface UsercratePolicy {
  version: 1;
  user: string;
  puddle: boolean;
  gitback: boolean;
  /** the resource id that set these flags */
  source: string;
}
