/**
 * The client side of the envoy's uid binding (see binding.ts): ask the helper daemon for
 * a challenge, sign a `uid-binding` body with the puddle (the session helper, or any
 * Signer), send the proof back. Used by the verbs that already hold a signer, by
 * `puddle unlock` (best effort) and by git-remote-gitback after an E_UNBOUND refusal.
 */
import { existsSync } from 'node:fs';
import type { Clock } from '../platform/clock.js';
import { VigoError, isVigoError } from '../platform/errors.js';
import { paths } from '../platform/paths.js';
import { toHex, type Signer } from '../trust/index.js';
import { bindingMessage, bindingState, type BindingBody } from './binding.js';
import { encodeLine } from './daemon/protocol.js';
import { daemonRequest, daemonTimeoutMs, readAnswer } from './remote-helper.js';
import { socketPath, socketPresent, type GitbackContext } from './context.js';

export interface BindResult {
  uid: number;
  pubkey: string;
  replaced: string | null;
}

/** One bind exchange with the daemon: challenge → signed proof → recorded (or a refusal thrown). */
export async function bindToEnvoy(sockPath: string, signer: Signer, now: number, timeoutMs: number): Promise<BindResult> {
  const ms = timeoutMs;
  const { sock, resp } = await daemonRequest(sockPath, { v: 1, op: 'bind' }, { timeoutMs: ms });
  try {
    if (!resp.ok) throw new VigoError(resp.code, resp.message, resp.hint !== undefined ? { hint: resp.hint } : {});
    const st = resp.status as { challenge?: unknown; uid?: unknown } | undefined;
    if (typeof st?.challenge !== 'string' || typeof st.uid !== 'number') throw new VigoError('E_DAEMON_PROTOCOL', 'the gitback helper daemon sent a malformed bind challenge');
    const body: BindingBody = { v: 1, kind: 'uid-binding', uid: st.uid, pubkey: toHex(signer.publicKey), challenge: st.challenge, issued_at: now };
    const sig = toHex(await signer.sign(bindingMessage(body)));
    sock.write(encodeLine({ v: 1, op: 'bind-proof', proof: { ...body, sig } }));
    const answer = (await readAnswer(sock, sockPath, ms, 64 * 1024)).resp;
    if (!answer.ok) throw new VigoError(answer.code, answer.message, answer.hint !== undefined ? { hint: answer.hint } : {});
    const r = answer.status as BindResult;
    return { uid: r.uid, pubkey: r.pubkey, replaced: r.replaced ?? null };
  } finally {
    sock.destroy();
  }
}

function boundLine(r: BindResult): string {
  return `Bound your puddle (${r.pubkey.slice(0, 16)}…) to uid ${r.uid} on this envoy${r.replaced ? ` (replacing ${r.replaced.slice(0, 16)}…)` : ''}\n`;
}

/**
 * For verbs that hold the signer already: bind when this envoy's daemon is up and the uid
 * is unbound or bound to another key. A failed bind is a warning, never the verb's failure.
 */
export async function ensureBound(ctx: GitbackContext, signer: Signer): Promise<void> {
  if (!socketPresent(ctx) || bindingState(ctx.env, ctx.uid, toHex(signer.publicKey)) === 'bound') return;
  try {
    ctx.err(boundLine(await bindToEnvoy(socketPath(ctx), signer, ctx.now(), daemonTimeoutMs(ctx.env))));
  } catch (e) {
    ctx.err(`warning: could not bind your puddle to your uid on this envoy: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

/** For join/rejoin (an initialized puddle suffices): bind if unlocked, else say when it will be needed. */
export async function bindIfUnlocked(ctx: GitbackContext): Promise<void> {
  if (!socketPresent(ctx) || bindingState(ctx.env, ctx.uid, toHex(ctx.publicKey())) === 'bound') return;
  let signer: Signer;
  try {
    signer = await ctx.signer();
  } catch (e) {
    if (isVigoError(e) && e.code === 'E_PUDDLE_LOCKED') {
      ctx.err('note: your puddle is locked; the first git operation on this envoy needs it unlocked once (`vigo swarm puddle unlock`) so the envoy can bind it to your uid\n');
      return;
    }
    throw e;
  }
  await ensureBound(ctx, signer);
}

/**
 * Through the running session helper (puddle unlock, git-remote-gitback): null when there
 * is nothing to do (no daemon socket, already bound), else the result or the reason it
 * failed (locked puddle, refused, …). Callers treat binding as best effort.
 */
export async function bindFromSession(
  env: NodeJS.ProcessEnv,
  clock: Clock,
  opts: { force?: boolean; socketPath?: string } = {},
): Promise<{ ok: true; result: BindResult } | { ok: false; reason: string; locked: boolean } | null> {
  const sockPath = opts.socketPath ?? paths.gitbackSocket(env);
  if (!existsSync(sockPath)) return null;
  try {
    const { sessionSigner, puddleDir } = await import('../puddle/index.js');
    const signer = await sessionSigner(puddleDir(env));
    if (opts.force !== true && bindingState(env, process.getuid?.() ?? -1, toHex(signer.publicKey)) === 'bound') return null;
    return { ok: true, result: await bindToEnvoy(sockPath, signer, Math.floor(clock.now() / 1000), daemonTimeoutMs(env)) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e), locked: isVigoError(e) && e.code === 'E_PUDDLE_LOCKED' };
  }
}

export { boundLine };

/** The session signer for a verb that signs anyway, with the uid bound on the way (see ensureBound). */
export async function boundSigner(ctx: GitbackContext): Promise<Signer> {
  const signer = await ctx.signer();
  await ensureBound(ctx, signer);
  return signer;
}

/** `puddle leave`: asks the daemon to drop this uid's binding; the key it named, '' for an unreadable one, or null when there was none. */
export async function unbindFromEnvoy(sockPath: string, timeoutMs: number): Promise<string | null> {
  const { sock, resp } = await daemonRequest(sockPath, { v: 1, op: 'unbind' }, { timeoutMs });
  sock.destroy();
  if (!resp.ok) throw new VigoError(resp.code, resp.message, resp.hint !== undefined ? { hint: resp.hint } : {});
  const st = resp.status as { removed?: unknown } | undefined;
  if (st?.removed !== null && typeof st?.removed !== 'string') throw new VigoError('E_DAEMON_PROTOCOL', 'the gitback helper daemon sent a malformed unbind answer');
  return st.removed;
}
