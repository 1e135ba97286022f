#!/usr/bin/env node
const m = await import('../dist/src/cli/vigocli/main.js');
await m.main(process.argv);
