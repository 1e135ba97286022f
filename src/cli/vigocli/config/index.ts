import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerValidate } from './validate.js';
import { registerPublish } from './publish.js';
import { registerVersion } from './version.js';

export function registerConfig(program: Command): void {
  const c = group(program, 'config', 'Stacks: validate, publish, version');
  registerValidate(c);
  registerPublish(c);
  registerVersion(c);
}
