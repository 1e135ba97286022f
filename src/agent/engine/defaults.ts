import { dirname } from 'node:path';
import { paths, vigoRoot } from '../../platform/paths.js';
import type { ConvergeOptions } from './types.js';

/** The agent's own paths (envoy paths, resolved under fsRoot): no resource may touch them. */
export const AGENT_PROTECTED_PATHS: readonly string[] = ['/etc/vigo-envoy', '/var/lib/vigo', '/var/run/vigo', '/srv/vigo'];

/** How `vigo agent run` converges: under VIGO_ROOT when set (else /), policy files in /var/lib/vigo. */
export function agentConvergeOptions(env: NodeJS.ProcessEnv, extra: Partial<ConvergeOptions> = {}): ConvergeOptions {
  return {
    fsRoot: vigoRoot(env),
    protectedPaths: [...AGENT_PROTECTED_PATHS],
    usercratePolicyDir: dirname(paths.usercratePolicy('x', env)),
    hostEnv: env,
    ...extra,
  };
}
