/** The typed confirmation of `bolt drain` and `bolt remove`: the operator types the bolt id. */
import { createInterface } from 'node:readline';
import { VigoError } from '../../../../platform/errors.js';

/**
 * Asks on stderr and reads one line from stdin (a terminal, or a pipe: `echo bolt-c | vigocli
 * spanner bolt drain bolt-c`). Anything but the bolt id refuses, and nothing is sent.
 */
export async function confirmBoltId(boltId: string, question: string): Promise<void> {
  process.stderr.write(`${question}\nType the bolt id (${boltId}) to confirm: `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  let answer = '';
  try {
    for await (const line of rl) {
      answer = line.trim();
      break;
    }
  } finally {
    rl.close();
  }
  if (!process.stdin.isTTY) process.stderr.write('\n');
  if (answer !== boltId) throw new VigoError('E_NOT_CONFIRMED', `not confirmed (typed "${answer.slice(0, 64)}", expected "${boltId}"); nothing was changed`, { hint: `type ${boltId} at the prompt, or pipe it in: echo ${boltId} | vigocli …` });
}
