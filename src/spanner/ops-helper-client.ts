/** Talking to (and starting) the service-account helper on puddle.sock (one request per connection). */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { VigoError } from '../platform/errors.js';
import { fromHex, type Signer } from '../trust/index.js';
import { lineRequest, NoSession, spawnKeyHelper } from '../puddle/index.js';
import { MAX_HELPER_LINE_BYTES, OPS_PROJECT_HANDLE, OPS_PROJECT_SCOPE, parseHelperAnswer, type HelperFounded, type HelperRequest, type HelperStatus } from '../wire/ops-puddle.js';

export const HELPER_TIMEOUT_MS = 10_000;

export interface OpsHelperPaths {
  socket: string;
  puddleDir: string;
  opsDir: string;
  secretsDir: string;
  dataDir: string;
  keyFile?: string | undefined;
}

async function ask(socket: string, req: HelperRequest) {
  const raw = await lineRequest<unknown>(socket, req, HELPER_TIMEOUT_MS, 'the service-account helper', 'puddle.sock serves root only', MAX_HELPER_LINE_BYTES);
  const a = parseHelperAnswer(JSON.stringify(raw), req.op);
  if (!a.ok) throw new VigoError(a.code, `the service-account helper refused ${req.op}: ${a.message}`);
  return a;
}

/** STATUS, or null when no helper listens. */
export async function opsHelperStatus(socket: string): Promise<HelperStatus | null> {
  try {
    return (await ask(socket, { op: 'STATUS' })) as HelperStatus;
  } catch (e) {
    if (e instanceof NoSession) return null;
    throw e;
  }
}

export async function requireOpsHelper(socket: string): Promise<HelperStatus> {
  const s = await opsHelperStatus(socket);
  if (s === null) {
    throw new VigoError('E_OPS_NO_HELPER', `the service-account puddle helper is not running (${socket})`, {
      hint: 'it starts with `ops-puddle init/join` and with the host services when <puddle-dir>/identity.wrapped exists; start vigosrv again, or re-run `vigocli spanner ops-puddle status` after starting it',
    });
  }
  return s;
}

/**
 * The service-account puddle as a Signer: the key stays in the helper, each signature is
 * one SIGN on puddle.sock (root only). The caller builds the domain-tagged bytes.
 */
export async function opsSigner(socket: string): Promise<Signer> {
  const s = await requireOpsHelper(socket);
  return {
    publicKey: fromHex(s.pubkey),
    sign: async (msg) => fromHex(((await ask(socket, { op: 'SIGN', msg: Buffer.from(msg).toString('base64') })) as { sig: string }).sig),
  };
}

export async function foundOpsProject(socket: string): Promise<HelperFounded> {
  return (await ask(socket, { op: 'FOUND_OPS_PROJECT', handle: OPS_PROJECT_HANDLE, scope: OPS_PROJECT_SCOPE })) as HelperFounded;
}

/** Starts the helper unless one answers already. Returns its pid, or null when one was running. */
export async function ensureOpsHelper(p: OpsHelperPaths, env: NodeJS.ProcessEnv): Promise<number | null> {
  if ((await opsHelperStatus(p.socket)) !== null) return null;
  mkdirSync(dirname(p.socket), { recursive: true, mode: 0o755 });
  const entry = fileURLToPath(new URL('./ops-helper-main.js', import.meta.url));
  const args = ['--socket', p.socket, '--puddle-dir', p.puddleDir, '--ops-puddle-dir', p.opsDir, '--secrets-dir', p.secretsDir, '--data-dir', p.dataDir, '--key-file', p.keyFile ?? ''];
  return spawnKeyHelper(entry, args, { logPath: join(p.puddleDir, 'helper.log'), env, stdin: null, readyTimeoutMs: 30_000, what: 'the service-account helper', code: 'E_OPS_NO_HELPER' });
}
