/** What every REST plugin and the check-in endpoint share inside one running vigosrv. */
import type { ServerConfig } from './config.js';
import type { Db } from './db.js';
import type { EnvoyIndex } from './envoys.js';
import type { PolicyState } from './policy.js';
import type { CheckinServer } from './checkin/server.js';
import type { Metrics } from './metrics.js';
import type { PemPair } from './pki.js';
import type { Bolt } from '../spanner/index.js';
import type { EnvoyMoves } from './envoy-move.js';
import type { StacksWatcher } from './publish/stacks-watcher.js';

export interface ServerContext {
  config: ServerConfig;
  db: Db;
  index: EnvoyIndex;
  policy: PolicyState;
  checkin: CheckinServer;
  metrics: Metrics;
  ca: PemPair;
  caFingerprint: string;
  grpcPort: number;
  /** this server's bolt in a spanner (null when standalone) */
  spanner: Bolt | null;
  /** moving envoys between bolts, routing, the CA bundle (null when standalone) */
  moves: EnvoyMoves | null;
  /** spanner mode: syncs `.live` to the stacks project's head (null when standalone) */
  stacks: StacksWatcher | null;
  startedAt: number;
  log: (msg: string) => void;
  now: () => number;
}
