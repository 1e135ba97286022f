/**
 * The environment of every git process a daemon of ours runs (the gitback helper daemon,
 * swarm replication): the host's PATH and HOME as the entry point passes them in, and
 * nothing from a client or peer.
 */

/** What a git process inherits of the host: PATH and HOME, nothing else. */
export interface GitHost {
  readonly PATH?: string | undefined;
  readonly HOME?: string | undefined;
}

export function gitEnv(host: GitHost, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: host.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: host.HOME ?? '/',
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}
