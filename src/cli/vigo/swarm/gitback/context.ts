/** Builds the GitbackContext for a CLI invocation: this process, this user, this terminal. */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import type { GitbackContext } from '../../../../gitback/index.js';
import { ownNameClaim, puddleSigner, readPuddlePublicKey } from '../../../../gitback/index.js';

async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readOneLine(question: string): Promise<string> {
  // printed with or without a terminal: a script piping the answer still shows what it answered
  process.stderr.write(process.stdin.isTTY ? question : `${question}\n`);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line;
    return '';
  } finally {
    rl.close();
  }
}

export function cliContext(): GitbackContext {
  const env = process.env;
  return {
    env,
    uid: process.getuid?.() ?? -1,
    user: userInfo().username,
    cwd: process.cwd(),
    now: () => Math.floor(Date.now() / 1000),
    publicKey: () => readPuddlePublicKey(env),
    signer: () => puddleSigner(env),
    nameClaim: () => ownNameClaim(env),
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    prompt: readOneLine,
    readStdin: readAll,
  };
}
