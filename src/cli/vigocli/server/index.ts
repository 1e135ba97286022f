import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerStatus } from './status.js';

export function registerServer(program: Command): void {
  registerStatus(group(program, 'server', 'The vigosrv this CLI talks to'));
}
