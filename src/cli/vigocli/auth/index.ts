import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerLogin } from './login.js';
import { registerStatus } from './status.js';
import { registerLogout } from './logout.js';

export function registerAuth(program: Command): void {
  const auth = group(program, 'auth', 'Log in to a vigosrv REST API');
  registerLogin(auth);
  registerStatus(auth);
  registerLogout(auth);
}
