/** `vigocli auth logout` */
import type { Command } from 'commander';
import { loginFile, removeLogin } from '../session.js';

export function registerLogout(auth: Command): void {
  auth
    .command('logout')
    .description('Forget the saved login')
    .action(() => {
      process.stdout.write(removeLogin() ? `Logged out (removed ${loginFile()})\n` : 'Not logged in\n');
    });
}
