/**
 * The UpdateVerifier the replication machine calls: verifyManifest with this envoy's view
 * of each project (revocations, delegations, tombstone), looked up per call so a revoke
 * that lands between two bundles applies to the second.
 */
import type { Hex } from '../trust/index.js';
import { verifyManifest, type ManifestVerifyContext } from '../wire/gitback-manifest.js';
import type { UpdateVerifier } from './replication.js';

export type ProjectTrustView = Omit<ManifestVerifyContext, 'projectId' | 'now' | 'bundleSha256'>;

export function updateVerifier(view: (projectId: Hex) => ProjectTrustView): UpdateVerifier {
  return {
    verify: (projectId, update, bundleSha256, nowMs) =>
      verifyManifest(update.manifest, update.chain, { ...view(projectId), projectId, now: Math.floor(nowMs / 1000), bundleSha256 }),
  };
}
