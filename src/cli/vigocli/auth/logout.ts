/** `vigocli auth logout [--server URL]`: forgets one saved login (default: the newest) */
import type { Command } from 'commander';
import { loginFile, removeLogin, selectedServer } from '../session.js';

export function registerLogout(auth: Command): void {
  auth
    .command('logout')
    .description('Forget the saved login for --server (default: the newest)')
    .action(() => {
      const gone = removeLogin(selectedServer());
      process.stdout.write(gone !== null ? `Logged out of ${gone} (${loginFile()})\n` : 'Not logged in\n');
    });
}
