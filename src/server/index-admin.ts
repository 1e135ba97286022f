/**
 * The narrow surface vigocli (the admin CLI) starts from: server.yaml and the secrets store,
 * read on the server host, and the types of what the REST API answers. No listeners, no
 * database, no stacks: index.ts would load all of vigosrv (fastify, gRPC, SQLite) into every
 * vigocli command (importing this took 0.7 s where index.ts took 4.4 s, on a loaded box).
 */
export { defaultConfigFile, loadServerConfig } from './config.js';
export { ensureMasterKey, listSecrets, lock, masterKeyWrap, revealSecret, secretsPaths, setSecret, unlock, unlockedUntil } from './secrets.js';
export type { SecretsPaths } from './secrets.js';
export type { EnvoyView } from './envoys.js';
export type { CertificateStatus } from './checkin/certs.js';
export type { BoltShow, BoltEnvoy, MergedBolt } from './rest/spanner-admin.js';
