/** `vigocli server status [--json]` */
import type { Command } from 'commander';
import { call, resolveTarget } from '../session.js';
import { printJson, printTable } from '../output.js';

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
}

export function registerStatus(server: Command): void {
  server
    .command('status')
    .description('Server health, config version, envoy counts by status, compliance')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<Status>('GET', '/api/v1/status');
      if (o.json) return printJson(r);
      process.stdout.write(
        `Server:      ${resolveTarget().server} (vigosrv ${r.version}, up ${r.uptime_s}s, spanner ${r.spanner_mode})\nConfig:      version ${r.config_version}${r.live_error ? `\n             ERROR: ${r.live_error}` : ''}\nCheck-in:    every ${r.checkin_interval_s}s on gRPC port ${r.grpc_port}\nCompliance:  ${r.compliance_pct}%\n\n`,
      );
      printTable(['ENVOYS', 'COUNT'], Object.entries(r.envoys).map(([k, v]) => [k, v]));
    });
}
