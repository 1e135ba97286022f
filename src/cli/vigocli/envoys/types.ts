/** The envoy shape the REST API returns (src/server/envoys.ts EnvoyView). */
export type { EnvoyView } from '../../../server/envoys.js';
