#!/usr/bin/env node
// Multicall entry: `vigo` and `git-remote-gitback` are the same program, chosen by the
// name it was invoked under.
import { basename } from 'node:path';

const name = basename(process.argv[1] ?? 'vigo');
if (name.startsWith('git-remote-gitback')) {
  const m = await import('../dist/src/cli/git-remote-gitback/main.js');
  await m.main(process.argv);
} else {
  const m = await import('../dist/src/cli/vigo/main.js');
  await m.main(process.argv);
}
