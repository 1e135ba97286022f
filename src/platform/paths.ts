/**
 * Where things live. System paths come from the pages (/srv/vigo, /var/lib/vigo,
 * /var/run/vigo, /etc/vigo-envoy); when VIGO_ROOT is set every one of them is resolved
 * under it, so tests, the demo and unprivileged users can run many envoys and servers on
 * one host. Per-user paths follow $HOME. Flags that name a path still win (callers pass
 * them in instead of calling these).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Env {
  readonly VIGO_ROOT?: string | undefined;
  readonly HOME?: string | undefined;
}

export function vigoRoot(env: Env): string {
  const r = env.VIGO_ROOT;
  return r !== undefined && r !== '' ? r : '/';
}

export function systemPath(sub: string, env: Env): string {
  return join(vigoRoot(env), sub);
}

export function homeDir(env: Env): string {
  const h = env.HOME;
  return h !== undefined && h !== '' ? h : homedir();
}

export const paths = {
  srv: (env: Env) => systemPath('srv/vigo', env),
  varLib: (env: Env) => systemPath('var/lib/vigo', env),
  varRun: (env: Env) => systemPath('var/run/vigo', env),
  etcEnvoy: (env: Env) => systemPath('etc/vigo-envoy', env),
  gitbackBase: (env: Env) => systemPath('var/lib/vigo/swarm/gitback', env),
  gitbackProjects: (env: Env) => systemPath('var/lib/vigo/swarm/gitback/projects', env),
  gitbackEnvelopes: (env: Env) => systemPath('var/lib/vigo/swarm/gitback/envelopes', env),
  gitbackSocket: (env: Env) => systemPath('var/run/vigo/gitback.sock', env),
  usercratePolicy: (user: string, env: Env) => systemPath(join('var/lib/vigo/usercrate-policy', `${user}.json`), env),
  puddleDir: (env: Env) => join(homeDir(env), '.vigo-puddle'),
  gitbackUserDir: (env: Env) => join(homeDir(env), '.vigo-gitback'),
};
