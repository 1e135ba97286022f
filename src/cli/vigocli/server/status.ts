/** `vigocli server status [--spanner] [--json]` */
import type { Command } from 'commander';
import { call, resolveTarget } from '../session.js';
import { printJson, printTable, reportMissing } from '../output.js';
import type { BoltShow, MergedAnswer } from '../spanner/types.js';
import type { CertificateStatus } from '../../../server/index-admin.js';

function certLines(c: CertificateStatus | undefined): string {
  if (!c) return '';
  const srv = c.server ? `server ${c.server.serial} valid until ${c.server.not_after} (renews from ${c.server.renew_at})` : 'server certificate unknown';
  const e = c.envoys;
  let out = `Certs:       ${srv}\n             envoys: ${e.renewal_due} past their renewal point, ${e.expired} expired${e.next_expiry ? `; next expiry ${e.next_expiry}` : ''}\n`;
  for (const n of e.near_expiry) out += `             ${n.expired ? 'EXPIRED' : 'renewal due'}: ${n.hostname} (${n.envoy_id}) ${n.expired ? 'expired' : 'expires'} ${n.not_after}\n`;
  return out;
}

interface Status {
  version: string;
  uptime_s: number;
  config_version: number;
  live_error?: string | null;
  envoys: Record<string, number>;
  compliance_pct: number;
  checkin_interval_s: number;
  spanner_mode: string;
  grpc_port: number;
  certificates?: CertificateStatus;
}

export function registerStatus(server: Command): void {
  server
    .command('status')
    .description('Server health, config version, envoy counts by status, compliance')
    .option('--spanner', 'every live bolt\'s envoy counts and compliance, merged (names the bolts that did not answer)')
    .option('--json', 'machine-readable output')
    .action(async (o: { spanner?: boolean; json?: boolean }) => {
      if (o.spanner) {
        const m = await call<MergedAnswer & { totals: Record<string, number>; shows: BoltShow[] }>('GET', '/api/v1/spanner/merged/status');
        if (o.json) return printJson(m);
        const t = m.totals;
        process.stdout.write(`Spanner:     asked ${m.asked}; ${m.bolts.length - m.missing.length} of ${m.bolts.length} live bolt(s) answered\nCompliance:  ${t.compliance_pct}% of ${t.active} active envoy(s) (${t.connected} connected, ${t.revoked} revoked)\n\n`);
        printTable(
          ['BOLT', 'ENVOYS', 'CONNECTED', 'CONVERGED', 'RELAPSED', 'DIVERGED', 'FAILED', 'OFFLINE', 'NO-DATA', 'COMPLIANCE', 'CONFIG'],
          m.bolts.map((b) => {
            const s = m.shows.find((x) => x.bolt_id === b.bolt_id);
            if (!s) return [b.bolt_id, 'no answer'];
            const e = s.envoys;
            return [b.bolt_id, e.active, e.connected, e.converged, e.relapsed, e.diverged, e.failed, e.offline, e['no-data'], `${s.compliance_pct}%`, s.config_version];
          }),
        );
        return reportMissing(m);
      }
      const r = await call<Status>('GET', '/api/v1/status');
      if (o.json) return printJson(r);
      process.stdout.write(
        `Server:      ${resolveTarget().server} (vigosrv ${r.version}, up ${r.uptime_s}s, spanner ${r.spanner_mode})\nConfig:      version ${r.config_version}${r.live_error ? `\n             ERROR: ${r.live_error}` : ''}\nCheck-in:    every ${r.checkin_interval_s}s on gRPC port ${r.grpc_port}\nCompliance:  ${r.compliance_pct}%\n${certLines(r.certificates)}\n`,
      );
      printTable(['ENVOYS', 'COUNT'], Object.entries(r.envoys).map(([k, v]) => [k, v]));
    });
}
