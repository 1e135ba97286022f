/** The stacks verbs' first precondition: this vigosrv is in a spanner (standalone keeps local-write + SIGHUP). */
import { VigoError } from '../../../../platform/errors.js';
import { call } from '../../session.js';
import type { SpannerStatus } from '../types.js';

export async function requireSpannerMode(verb: string): Promise<void> {
  const s = await call<SpannerStatus>('GET', '/api/v1/spanner/status');
  if (s.mode === 'standalone') {
    throw new VigoError('E_SPANNER_STANDALONE', `stacks ${verb}: this vigosrv is standalone (spanner.mode in server.yaml)`, { hint: 'standalone deployments publish with `vigocli config publish` (local write + reload); configure spanner: in server.yaml first' });
  }
}
