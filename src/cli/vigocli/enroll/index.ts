import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerTokenCreate } from './token-create.js';

export function registerEnroll(program: Command): void {
  const enroll = group(program, 'enroll', 'Envoy enrollment');
  const token = group(enroll, 'token', 'One-time enrollment tokens');
  registerTokenCreate(token);
}
