/**
 * `isUnlocked` must answer synchronously; this tiny process asks the helper for STATUS
 * and exits 0 when it answers for the given pubkey, 1 otherwise.
 */
import { sessionStatus } from './client.js';

const [dir, pubHex] = process.argv.slice(2);
sessionStatus(dir ?? '', 2000).then(
  (st) => process.exit(st !== null && st.pubkey === pubHex ? 0 : 1),
  () => process.exit(1),
);
