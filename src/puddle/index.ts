/**
 * The puddle: one Unix user's Ed25519 identity, wrapped by a passphrase on disk and served,
 * while unlocked, by a per-user session helper. This is the surface other subsystems use
 * (CONTRACTS.md §2); the rest of src/puddle is private (the lint rule subsystem-surface).
 */
export { puddleDir, isInitialized, readPublicKey, isUnlocked, readNameClaim, readSessionUnlocked } from './identity.js';
export type { NameClaim } from './name.js';
export { sessionSigner } from './session/signer.js';
export type { SessionUnlockedFile } from './session/helper.js';
export { puddleStatus, type PuddleStatus } from './status.js';
export { HookRegistry, puddleHooks, type PuddleHooks, type UnlockHook, type UnlockContext, type RekeyHook, type RekeyContext, type RekeyPreflightContext } from './hooks.js';

// for the `vigo swarm puddle …` verbs
export { readPassphrase } from './passphrase.js';
export { assertNoIdentity, initIdentity, recoverIfNeeded, rotatePassphrase } from './store.js';
export { lockSession } from './session/client.js';
export { clearNameClaim, signNameClaim, writeNameClaim } from './name.js';
export { rekeyPair } from './rekey.js';
export { DEFAULT_IDLE_TIMEOUT_S, parseDuration, unlockPuddle } from './unlock.js';
export { processName } from './lock.js';

// the key-helper plumbing the vigosrv service-account helper shares (src/spanner/ops-helper.ts)
export { lineServer, type LineServerOptions } from './session/line-server.js';
export { lineRequest, NoSession } from './session/client.js';
export { spawnKeyHelper, type SpawnOptions } from './session/launch.js';
