/** Starting the service-account helper after init/join; a failure to start is a warning (the verb's files are written). */
import { isVigoError } from '../../../../platform/errors.js';
import type { OpsHelperPaths } from '../../../../spanner/index-ops.js';

export async function startHelper(c: OpsHelperPaths, ensure: (p: OpsHelperPaths, env: NodeJS.ProcessEnv) => Promise<number | null>): Promise<string> {
  try {
    const pid = await ensure(c, process.env);
    return pid === null ? 'already running' : `started (pid ${pid})`;
  } catch (e) {
    const msg = isVigoError(e) ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : String(e);
    process.stderr.write(`warning: the service-account helper on ${c.socket} did not start: ${msg}\n`);
    return 'not running';
  }
}
