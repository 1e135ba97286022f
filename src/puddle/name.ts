/**
 * Name claims: a puddle's signed claim to a friendly name (`gitback://<name>/<handle>`).
 * ~/.vigo-puddle/name-claim.json holds
 *   {"v":1,"kind":"name-claim","name":…,"pubkey":<64 hex>,"issued_at":<unix s>,"sig":<128 hex>}
 * signed over signingMessage('name-claim', claim without sig) — the trust core's
 * mintNameClaim / verifyNameClaim (docs/wire-formats.md). Names follow validateName.
 */
import { chmodSync, readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic, fsyncDir } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { PUBLIC_MODE, puddlePath } from './layout.js';
import { mintNameClaim, parseStrictJson, verifyNameClaim, type NameClaim, type Signer } from '../trust/index.js';

export type { NameClaim };

export function signNameClaim(signer: Signer, name: string, now: number): Promise<NameClaim> {
  return mintNameClaim(signer, name, now);
}

/** Strict check of a claim (shape, name rules, signature by its own pubkey), naming the file. */
export function verifyNameClaimText(text: string, what: string): NameClaim {
  try {
    return verifyNameClaim(parseStrictJson(text, { what }));
  } catch (e) {
    throw bad(what, e instanceof Error ? e.message : String(e));
  }
}

function bad(what: string, msg: string): VigoError {
  return new VigoError('E_PUDDLE_NAME_CLAIM', `${what}: ${msg}`, { hint: 'set the name again with `vigo swarm puddle name set <name>`' });
}

export function readNameClaimFile(dir: string, expectPubHex?: string): NameClaim | null {
  const p = puddlePath(dir, 'nameClaim');
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new VigoError('E_PUDDLE_UNREADABLE', `cannot read ${p}: ${(e as Error).message}`);
  }
  const claim = verifyNameClaimText(text, p);
  if (expectPubHex !== undefined && claim.pubkey !== expectPubHex) {
    throw bad(p, `claims the name for ${claim.pubkey}, not for this puddle (${expectPubHex})`);
  }
  return claim;
}

export function nameClaimText(claim: NameClaim): string {
  return JSON.stringify(claim, null, 2) + '\n';
}

export function writeNameClaim(dir: string, claim: NameClaim): void {
  const p = puddlePath(dir, 'nameClaim');
  writeFileAtomic(p, nameClaimText(claim), { mode: PUBLIC_MODE });
  chmodSync(p, PUBLIC_MODE);
}

export function clearNameClaim(dir: string): boolean {
  try {
    unlinkSync(puddlePath(dir, 'nameClaim'));
    fsyncDir(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
