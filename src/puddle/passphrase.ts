/**
 * Where passphrases come from, in this order: `--passphrase-file F` (one line; the
 * trailing newline is dropped), the environment (VIGO_PUDDLE_PASSPHRASE; for a new
 * passphrase VIGO_PUDDLE_NEW_PASSPHRASE), a terminal prompt without echo (asked twice
 * for a new passphrase), or — when stdin is not a terminal — the next line of stdin.
 */
import { readFileSync, statSync } from 'node:fs';
import { VigoError } from '../platform/errors.js';

export const MIN_PASSPHRASE_CHARS = 8;
export const MAX_PASSPHRASE_BYTES = 1024;

export interface PassphraseSource {
  file?: string | undefined;
  /** env var to read */
  envVar: string;
  env: NodeJS.ProcessEnv;
  prompt: string;
  /** a new passphrase: ask twice on a terminal and enforce the minimum length */
  isNew: boolean;
}

let stdinLines: string[] | null = null;

async function nextStdinLine(what: string): Promise<string> {
  if (stdinLines === null) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    stdinLines = text.split(/\r?\n/);
    if (stdinLines.length > 0 && stdinLines[stdinLines.length - 1] === '') stdinLines.pop();
  }
  const line = stdinLines.shift();
  if (line === undefined) {
    throw new VigoError('E_PUDDLE_NO_PASSPHRASE', `no ${what} given: standard input is not a terminal and had no line for it`, {
      hint: 'set VIGO_PUDDLE_PASSPHRASE, use --passphrase-file F, or pipe the passphrase on stdin',
    });
  }
  return line;
}

function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    stdin.setRawMode(true); // before the prompt: whatever is typed once it shows is never echoed
    process.stderr.write(prompt);
    stdin.resume();
    stdin.setEncoding('utf8');
    let s = '';
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(s);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new VigoError('E_CANCELLED', 'cancelled'));
        if (ch === '\u0004' && s === '') return done(new VigoError('E_CANCELLED', 'cancelled'));
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function fromFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
    if ((statSync(file).mode & 0o077) !== 0) process.stderr.write(`warning: ${file} is readable by other users; chmod 600 it\n`);
  } catch (e) {
    throw new VigoError('E_PUDDLE_NO_PASSPHRASE', `cannot read the passphrase file ${file}: ${(e as Error).message}`);
  }
  const nl = text.search(/\r?\n/);
  return nl >= 0 ? text.slice(0, nl) : text;
}

function check(p: string, src: PassphraseSource, origin: string): string {
  if (p.length === 0) throw new VigoError('E_PUDDLE_NO_PASSPHRASE', `the passphrase from ${origin} is empty`);
  if (Buffer.byteLength(p) > MAX_PASSPHRASE_BYTES) {
    throw new VigoError('E_PUDDLE_WEAK_PASSPHRASE', `the passphrase from ${origin} is longer than ${MAX_PASSPHRASE_BYTES} bytes`);
  }
  if (src.isNew && [...p].length < MIN_PASSPHRASE_CHARS) {
    throw new VigoError('E_PUDDLE_WEAK_PASSPHRASE', `the new passphrase from ${origin} is shorter than ${MIN_PASSPHRASE_CHARS} characters`, {
      hint: 'choose a longer passphrase; it is all that protects the key at rest',
    });
  }
  return p;
}

export async function readPassphrase(src: PassphraseSource): Promise<string> {
  if (src.file !== undefined) return check(fromFile(src.file), src, src.file);
  const fromEnv = src.env[src.envVar];
  if (fromEnv !== undefined && fromEnv !== '') return check(fromEnv, src, src.envVar);
  if (process.stdin.isTTY) {
    const p = check(await readHidden(`${src.prompt}: `), src, 'the terminal');
    if (src.isNew) {
      const again = await readHidden(`${src.prompt} (again): `);
      if (again !== p) throw new VigoError('E_PUDDLE_PASSPHRASE_MISMATCH', 'the two passphrases differ; nothing was changed', { hint: 'run the command again' });
    }
    return p;
  }
  return check(await nextStdinLine(src.prompt.toLowerCase()), src, 'standard input');
}
