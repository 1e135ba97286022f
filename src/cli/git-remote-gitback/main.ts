/**
 * `git-remote-gitback`: git's remote helper for gitback:// URLs. The same program as
 * `vigo`, chosen by the name it is invoked under (see bin/vigo.js).
 */
import { paths } from '../../platform/paths.js';
import { runRemoteHelper } from '../../gitback/remote-helper.js';
import { nameSources } from '../../gitback/names.js';

export async function main(argv: string[] = process.argv): Promise<void> {
  const code = await runRemoteHelper(argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    socketPath: paths.gitbackSocket(process.env),
    // the puddle module is loaded only when a friendly name misses the fleet map
    names: nameSources(process.env, async () => (await import('../../gitback/identity.js')).ownNameClaim(process.env)),
  });
  // stdin may still be open (git keeps it until we exit); flush stdout, then leave.
  process.stdout.write('', () => process.exit(code));
}
