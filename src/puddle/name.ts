/**
 * Name claims: a puddle's signed claim to a friendly name (`gitback://<name>/<handle>`).
 * ~/.vigo-puddle/name-claim.json holds
 *   {"v":1,"kind":"name-claim","name":…,"pubkey":<64 hex>,"issued_at":<unix s>,"sig":<128 hex>}
 * signed over signingMessage('name-claim', claim without sig). Names follow the trust
 * core's validateName (1–64 of A-Z a-z 0-9 . _ -, no leading dot, not 64 hex).
 */
import { chmodSync, readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic, fsyncDir } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { PUBLIC_MODE, puddlePath } from './layout.js';
import { parseStrictJson, signingMessage, toHex, validateName, verifyRaw, type Signer } from './trust-shim.js';

export interface NameClaim {
  v: 1;
  kind: 'name-claim';
  name: string;
  pubkey: string;
  issued_at: number;
  sig: string;
}

export type NameClaimBody = Omit<NameClaim, 'sig'>;

export async function signNameClaim(signer: Signer, name: string, now: number): Promise<NameClaim> {
  validateName(name);
  const body: NameClaimBody = { v: 1, kind: 'name-claim', name, pubkey: toHex(signer.publicKey), issued_at: now };
  const sig = await signer.sign(signingMessage('name-claim', body));
  return { ...body, sig: toHex(sig) };
}

function bad(what: string, msg: string): VigoError {
  return new VigoError('E_PUDDLE_NAME_CLAIM', `${what}: ${msg}`, { hint: 'set the name again with `vigo swarm puddle name set <name>`' });
}

/** Strict check of a claim: shape, name rules, and the signature by its own pubkey. */
export function verifyNameClaim(v: unknown, what: string): NameClaim {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'must be a JSON object');
  const o = v as Record<string, unknown>;
  const keys = ['v', 'kind', 'name', 'pubkey', 'issued_at', 'sig'];
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(what, `unknown field ${k}`);
  if (o.v !== 1) throw bad(what, 'v must be 1');
  if (o.kind !== 'name-claim') throw bad(what, 'kind must be "name-claim"');
  if (typeof o.name !== 'string') throw bad(what, 'name must be a string');
  try {
    validateName(o.name);
  } catch (e) {
    throw bad(what, (e as Error).message);
  }
  if (typeof o.pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(o.pubkey)) throw bad(what, 'pubkey must be 64 lowercase hex');
  if (!Number.isSafeInteger(o.issued_at) || (o.issued_at as number) < 0) throw bad(what, 'issued_at must be a non-negative integer');
  if (typeof o.sig !== 'string' || !/^[0-9a-f]{128}$/.test(o.sig)) throw bad(what, 'sig must be 128 lowercase hex');
  const claim = o as unknown as NameClaim;
  const { sig, ...body } = claim;
  const ok = verifyRaw(Buffer.from(claim.pubkey, 'hex'), signingMessage('name-claim', body), Buffer.from(sig, 'hex'));
  if (!ok) throw bad(what, 'the signature does not verify');
  return claim;
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
  const claim = verifyNameClaim(parseStrictJson(text, { what: p }), p);
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
