#!/usr/bin/env node
const m = await import('../dist/src/cli/vigosrv/main.js');
await m.main(process.argv);
