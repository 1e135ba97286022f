/** Prometheus metrics (`GET /metrics`), one registry per server instance. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EnvoyIndex } from './envoys.js';
import type { PolicyState } from './policy.js';
import type { EnvoyCerts } from './checkin/certs.js';
import { certValidity } from '../wire/enroll.js';
import { type PemPair } from './pki.js';

export interface Metrics {
  registry: Registry;
  checkinsNoChange: Counter;
  checkinsStateChanged: Counter;
  checkinsBundle: Counter;
  checkinsRefused: Counter;
  runs: Counter<'status'>;
  enrollments: Counter;
  certRenewals: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigosrv_' });
  return {
    registry,
    checkinsNoChange: new Counter({ name: 'vigosrv_checkins_nochange_total', help: 'check-ins whose policy version and state fingerprint the server already held', registers: [registry] }),
    checkinsStateChanged: new Counter({ name: 'vigosrv_checkins_state_changed_total', help: 'check-ins at the current policy version with a new state fingerprint', registers: [registry] }),
    checkinsBundle: new Counter({ name: 'vigosrv_checkins_bundle_total', help: 'check-ins answered with a new policy bundle', registers: [registry] }),
    checkinsRefused: new Counter({ name: 'vigosrv_checkins_refused_total', help: 'check-in streams or messages refused', registers: [registry] }),
    runs: new Counter({ name: 'vigosrv_runs_total', help: 'run reports stored, by status', labelNames: ['status'], registers: [registry] }),
    enrollments: new Counter({ name: 'vigosrv_enrollments_total', help: 'envoys enrolled', registers: [registry] }),
    certRenewals: new Counter({ name: 'vigosrv_envoy_cert_renewals_total', help: 'envoy client certificates renewed over the check-in stream', registers: [registry] }),
  };
}

/** Gauges read at scrape time from the live index. */
export function registerStateGauges(m: Metrics, index: EnvoyIndex, policy: PolicyState, connected: () => number, now: () => number = Date.now): void {
  new Gauge({
    name: 'vigosrv_envoys',
    help: 'enrolled envoys by status',
    labelNames: ['status'],
    registers: [m.registry],
    collect() {
      const c = index.compliance(now());
      for (const [s, n] of Object.entries(c.counts)) this.set({ status: s }, n);
      this.set({ status: 'revoked' }, c.revoked);
    },
  });
  new Gauge({ name: 'vigosrv_envoys_connected', help: 'envoys holding a check-in stream', registers: [m.registry], collect() { this.set(connected()); } });
  new Gauge({ name: 'vigosrv_config_version', help: 'the served config version', registers: [m.registry], collect() { this.set(policy.version); } });
  new Gauge({ name: 'vigosrv_compliance_percent', help: 'converged ÷ active envoys × 100', registers: [m.registry], collect() { this.set(index.compliance(now()).compliance_pct); } });
}

/** Certificate expiry, read at scrape time: the server's own, and envoys' near or past expiry. */
export function registerCertGauges(m: Metrics, index: EnvoyIndex, certs: EnvoyCerts, server: { current: PemPair }, now: () => number = Date.now): void {
  new Gauge({
    name: 'vigosrv_server_cert_expiry_seconds',
    help: 'seconds until the server certificate expires (it is renewed with a third of its life, at most 30 days, left)',
    registers: [m.registry],
    collect() {
      this.set((certValidity(server.current.cert).notAfter - now()) / 1000);
    },
  });
  new Gauge({
    name: 'vigosrv_envoy_certs_near_expiry',
    help: 'active envoys whose client certificate is past its renewal point (renewal_due) or expired',
    labelNames: ['state'],
    registers: [m.registry],
    collect() {
      const s = certs.summary(index.all().filter((e) => !e.revoked), now());
      this.set({ state: 'renewal_due' }, s.renewal_due);
      this.set({ state: 'expired' }, s.expired);
    },
  });
}
