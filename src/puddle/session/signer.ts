/** The Signer other subsystems use: the key stays in the session helper; every sign() is one SIGN request. */
import { VigoError } from '../../platform/errors.js';
import { toHex, verifyRaw, type Signer } from '../../trust/index.js';
import { puddlePath } from '../layout.js';
import { readPublicKeySettled } from '../store.js';
import { UNLOCK_HINT, request, sessionStatus } from './client.js';

function locked(dir: string): VigoError {
  return new VigoError('E_PUDDLE_LOCKED', `the puddle in ${dir} is locked`, { hint: UNLOCK_HINT });
}

/** A Signer whose key stays in the session helper; every sign() is one SIGN request. */
export async function sessionSigner(dir: string): Promise<Signer> {
  const publicKey = readPublicKeySettled(dir);
  const pubHex = toHex(publicKey);
  const st = await sessionStatus(dir);
  if (st === null) throw locked(dir);
  if (st.pubkey !== pubHex) {
    throw new VigoError('E_PUDDLE_LOCKED', `the running session holds ${st.pubkey}, not this puddle's key ${pubHex}`, { hint: UNLOCK_HINT });
  }
  const sockPath = puddlePath(dir, 'socket');
  return {
    publicKey,
    async sign(msg: Uint8Array): Promise<Uint8Array> {
      let a;
      try {
        a = await request(sockPath, { op: 'SIGN', msg: Buffer.from(msg).toString('base64') });
      } catch (e) {
        if (e instanceof VigoError) throw e;
        throw locked(dir);
      }
      if (!a.ok) throw a.code === 'E_PUDDLE_LOCKED' ? locked(dir) : new VigoError(a.code, `session helper: ${a.message}`);
      if (!('sig' in a)) throw new VigoError('E_PUDDLE_SESSION', 'session helper answered SIGN without a signature');
      const sig = new Uint8Array(Buffer.from(a.sig, 'hex'));
      if (!verifyRaw(publicKey, msg, sig)) throw new VigoError('E_PUDDLE_SESSION', 'the session helper returned a signature that does not verify');
      return sig;
    },
  };
}

