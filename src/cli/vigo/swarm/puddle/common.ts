/** Bits the puddle verbs share: passphrase sources and duration formatting. */
import { readPassphrase } from '../../../../puddle/index.js';

export const PASSPHRASE_FILE_HELP = 'read the passphrase from the first line of F (else $VIGO_PUDDLE_PASSPHRASE, a prompt, or stdin)';

export function currentPassphrase(file: string | undefined, prompt = 'Puddle passphrase'): () => Promise<string> {
  return () => readPassphrase({ file, envVar: 'VIGO_PUDDLE_PASSPHRASE', env: process.env, prompt, isNew: false });
}

export function newPassphrase(file: string | undefined, envVar: string, prompt: string): Promise<string> {
  return readPassphrase({ file, envVar, env: process.env, prompt, isNew: true });
}

export function formatDuration(s: number): string {
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', sec ? `${sec}s` : ''].filter(Boolean).join(' ');
}
