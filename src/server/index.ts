/**
 * vigosrv's surface: what the CLI (vigosrv, vigocli) and tests may use. The rest of
 * src/server is private (the lint rule subsystem-surface). Formats the envoy speaks too
 * are in src/wire/. Design: docs/server.md.
 */
export { startServer } from './server.js';
export type { RunningServer } from './server.js';
export { defaultConfigFile, loadServerConfig } from './config.js';
export { ensureMasterKey, listSecrets, lock, revealSecret, secretsPaths, setSecret, unlock, unlockedUntil } from './secrets.js';
export type { SecretsPaths } from './secrets.js';
export type { EnvoyView } from './envoys.js';
export type { CertificateStatus } from './checkin/certs.js';
export { signEnvoyCsr } from './pki.js';
export { globMatches, loadStacks, resolveBundle, validateStacks } from './stacks/index.js';
