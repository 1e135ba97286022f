/**
 * `git-remote-gitback`: git's remote helper for gitback:// URLs. The same program as
 * `vigo`, chosen by the name it is invoked under (see bin/vigo.js).
 */
import { paths } from '../../platform/paths.js';
import { systemClock } from '../../platform/clock.js';
import { runRemoteHelper, nameSources } from '../../gitback/index-remote.js';

export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runRemoteHelper(argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    socketPath: paths.gitbackSocket(process.env),
    // the puddle module is loaded only when a friendly name misses the fleet map
    names: nameSources(process.env, async () => (await import('../../gitback/index.js')).ownNameClaim(process.env)),
    // so is the binding code: only when the daemon says this user is not bound yet
    bind: async (env, opts) => (await import('../../gitback/index.js')).bindFromSession(env, systemClock, opts),
    // and the signer, only once a push's manifest is to be signed
    signer: async () => (await import('../../gitback/index.js')).puddleSigner(process.env),
    stderrIsTTY: process.stderr.isTTY === true,
  });
  // stdin may still be open (git keeps it until we exit); flush stdout, then leave.
  process.stdout.write('', () => process.exit(code));
}
