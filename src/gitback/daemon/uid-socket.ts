/**
 * Where the helper daemon's per-uid sockets live, beside the shared one: for the shared
 * socket `<run dir>/gitback.sock`, uid N's own socket is `<run dir>/gitback/u/N.sock`
 * (the directory root-owned 0711, the socket N's, 0600). One user's connect flood then
 * fills only the accept queue of the socket that user can open. It is a fairness device,
 * not an identity: the daemon still asks the kernel (SO_PEERCRED) and refuses a peer whose
 * uid is not the socket's. Shared by the daemon, the remote helper, and (in C) the tunnel.
 */
import { dirname, join } from 'node:path';

/** The directory holding the per-uid sockets, for a shared socket path. */
export function uidSocketDir(sharedSocket: string): string {
  return join(dirname(sharedSocket), 'gitback', 'u');
}

/** uid's own socket, for a shared socket path. */
export function uidSocketPath(sharedSocket: string, uid: number): string {
  return join(uidSocketDir(sharedSocket), `${uid}.sock`);
}
