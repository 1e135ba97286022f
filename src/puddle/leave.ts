/**
 * `vigo swarm puddle leave`, the puddle's half: lock the session (the helper drops the key
 * and exits), then remove every file of ~/.vigo-puddle under the directory lock — the
 * wrapped key, salt and public key, retired keys, the name claim, session leftovers, a
 * pending rekey's marker — and the directory itself. The key lives on on the puddle's other
 * envoys; the caller (src/gitback/puddle-leave.ts) decided that it may go here.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FILES } from './layout.js';
import { lockSession } from './session/client.js';
import { underLock } from './store.js';

export interface RemovedPuddle {
  /** whether a running session was locked first */
  locked: boolean;
  /** what was removed, relative to the puddle directory, sorted (retired/ counted as one) */
  removed: string[];
}

export async function removePuddleFiles(dir: string): Promise<RemovedPuddle> {
  if (!existsSync(dir)) return { locked: false, removed: [] };
  const locked = await lockSession(dir);
  const removed = await underLock(dir, () => {
    const names = readdirSync(dir).filter((n) => n !== FILES.lock).sort();
    for (const n of names) rmSync(join(dir, n), { recursive: true, force: true });
    return Promise.resolve(names);
  });
  // the lock file went last, when the lock was released; then the directory
  rmSync(dir, { recursive: true, force: true });
  return { locked, removed };
}
