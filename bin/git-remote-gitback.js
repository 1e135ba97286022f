#!/usr/bin/env node
// git-remote-gitback as the multicall program: vigo.js picks the helper by this file's
// name. bin/git-remote-gitback runs the native tunnel first and hands over to this.
await import('./vigo.js');
