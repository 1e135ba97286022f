/**
 * The usercrate gate: unless root, a user may use gitback only when the agent's resolved
 * policy file $VIGO_ROOT/var/lib/vigo/usercrate-policy/<user>.json grants `gitback: true`.
 * The CLI checks it before every verb; the helper daemon checks it again per connection
 * (so plain `git` cannot bypass it).
 *
 * Next to it, the envoy-level gate (src/wire/swarm-assignment.ts checkEnvoyGate): the
 * server's swarm.enabled and swarm.gitback.enabled patterns for this envoy, as the agent
 * last received them. checkGitbackGates asks both, the envoy's first; it binds root too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { paths, type Env } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import { checkEnvoyGate } from '../wire/swarm-assignment.js';

/** Both gates: this envoy's (swarm.enabled AND swarm.gitback.enabled, root included), then the user's usercrate. */
export function checkGitbackGates(uid: number, user: string, env: Env): void {
  checkEnvoyGate(env, 'gitback');
  checkUsercrateGate(uid, user, env);
}

export function checkUsercrateGate(uid: number, user: string, env: Env): void {
  if (uid === 0) return;
  const file = paths.usercratePolicy(user, env);
  const hint = `the agent writes ${file} from your usercrate; ask the operator to add stacks usercrates/${user}.vgo (a type: user resource for ${user} with \`gitback: true\`) and list ${user} under this envoy's match block's usercrates:`;
  if (!existsSync(file)) throw new VigoError('E_USERCRATE_DENIED', `gitback is not enabled for user ${user}: ${file} does not exist`, { hint });
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new VigoError('E_USERCRATE_DENIED', `gitback is not enabled for user ${user}: ${file} is not valid JSON`, { hint });
  }
  if (typeof v !== 'object' || v === null || (v as { gitback?: unknown }).gitback !== true) {
    throw new VigoError('E_USERCRATE_DENIED', `gitback is not enabled for user ${user}: ${file} does not grant gitback: true`, { hint });
  }
}
