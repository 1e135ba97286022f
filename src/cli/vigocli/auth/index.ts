import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerLogin } from './login.js';
import { registerStatus } from './status.js';
import { registerLogout } from './logout.js';
import { registerTokenList } from './token-list.js';
import { registerTokenCreate } from './token-create.js';
import { registerTokenRevoke } from './token-revoke.js';

export function registerAuth(program: Command): void {
  const auth = group(program, 'auth', 'Log in to a vigosrv REST API');
  registerLogin(auth);
  registerStatus(auth);
  registerLogout(auth);
  const token = group(auth, 'token', 'API tokens: list, create, revoke');
  registerTokenList(token);
  registerTokenCreate(token);
  registerTokenRevoke(token);
}
