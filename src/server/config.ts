/**
 * server.yaml: read from --config, $VIGO_CONFIG_FILE, or ./server.yaml; a missing file
 * means all defaults. Every section is validated with zod; unknown fields are refused so a
 * typo is never silently ignored, and a bad file stops the server naming the file, the
 * field and why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { VigoError } from '../platform/errors.js';
import { paths, type Env } from '../platform/paths.js';
import { MIN_REPORT_CAP_BYTES } from '../wire/run-report.js';
import { spannerSection, defaultSpannerConfig } from '../spanner/index-config.js';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT (e.g. 0.0.0.0:8443)')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535');
const glob = z.string().min(1).max(255);
const positive = z.number().int().positive();

const serverSection = z
  .object({
    hostname: z.string().min(1).optional(),
    rest_listen: listen.default('0.0.0.0:8443'),
    grpc_listen: listen.default('0.0.0.0:1530'),
    /** the gRPC address enrolled envoys are told to dial (default: the REST host they used + the gRPC port) */
    grpc_advertise: listen.optional(),
    tls_sans: z.array(z.string().min(1)).default([]),
    body_limit_bytes: positive.max(64 * 1024 * 1024).default(1024 * 1024),
    /** open REST connections at most (beyond it new ones are refused) */
    rest_max_connections: positive.max(1_000_000).default(1024),
    /** failed authentications/enrollments per source address within a minute before it is blocked (0: never block) */
    rest_failures_per_min: z.number().int().min(0).default(30),
    /** how long a blocked source address is refused */
    rest_block_s: positive.max(86400).default(60),
    data_dir: z.string().min(1).optional(),
    stacks_dir: z.string().min(1).optional(),
  })
  .strict();

const databaseSection = z
  .object({
    path: z.string().min(1).optional(),
    flush_interval_ms: positive.default(1000),
    flush_batch: positive.default(2000),
    runs_kept_per_envoy: positive.default(500),
    // the stored report of one run; bigger ones keep their summary and the resources that fit
    run_report_max_bytes: z.number().int().min(MIN_REPORT_CAP_BYTES).max(8 * 1024 * 1024).default(65536),
  })
  .strict();

const checkinSection = z
  .object({
    interval_s: z.number().positive().default(60),
    /** a freshly published version tells every connected envoy to check in now */
    push_on_publish: z.boolean().default(true),
  })
  .strict();

/** Certificate lifetimes (seconds). Each is renewed once a third of its life (≤ 30 days) is left. */
const pkiSection = z
  .object({
    server_cert_lifetime_s: z.number().int().min(10).max(3650 * 86400).default(825 * 86400),
    envoy_cert_lifetime_s: z.number().int().min(10).max(3650 * 86400).default(825 * 86400),
  })
  .strict();

const secretsSection = z
  .object({
    dir: z.string().min(1).optional(),
    unlock_window_h: z.number().positive().default(24),
  })
  .strict();

const swarmSection = z
  .object({
    gitback: z.object({ enabled: z.array(glob).default([]) }).strict().optional(),
    puddle: z.object({ enabled: z.array(glob).default([]) }).strict().optional(),
  })
  .strict();

export const serverYamlSchema = z
  .object({
    server: serverSection.default(serverSection.parse({})),
    database: databaseSection.default(databaseSection.parse({})),
    checkin: checkinSection.default(checkinSection.parse({})),
    pki: pkiSection.default(pkiSection.parse({})),
    secrets: secretsSection.default(secretsSection.parse({})),
    swarm: swarmSection.default({}),
    spanner: spannerSection.default(defaultSpannerConfig),
  })
  .strict();

export type ServerYaml = z.infer<typeof serverYamlSchema>;

/** The validated file plus every path resolved (VIGO_ROOT-aware). */
export interface ServerConfig extends ServerYaml {
  file: string | null;
  dataDir: string;
  stacksDir: string;
  liveDir: string;
  dbPath: string;
  secretsDir: string;
  tlsDir: string;
}

export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.VIGO_CONFIG_FILE && env.VIGO_CONFIG_FILE !== '' ? env.VIGO_CONFIG_FILE : resolve('server.yaml');
}

function describeIssues(file: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const field = i.path.length ? i.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : '(top level)';
      return `${file}: ${field}: ${i.message}`;
    })
    .join('\n');
}

export function parseServerYaml(text: string, file: string): ServerYaml {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new VigoError('E_CONFIG', `${file}: not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  if (doc === null || doc === undefined) doc = {};
  const r = serverYamlSchema.safeParse(doc);
  if (!r.success) throw new VigoError('E_CONFIG', describeIssues(file, r.error), { hint: 'fix server.yaml (see docs/server.md for every field) and start again' });
  return r.data;
}

export function loadServerConfig(file: string = defaultConfigFile(), env: Env = process.env): ServerConfig {
  const present = existsSync(file);
  const y = parseServerYaml(present ? readFileSync(file, 'utf8') : '', file);
  const dataDir = y.server.data_dir ?? paths.srv(env);
  return {
    ...y,
    file: present ? file : null,
    dataDir,
    stacksDir: y.server.stacks_dir ?? join(dataDir, 'stacks'),
    liveDir: join(dataDir, '.live'),
    dbPath: y.database.path ?? join(dataDir, 'db', 'vigo.db'),
    secretsDir: y.secrets.dir ?? join(dataDir, 'secrets'),
    tlsDir: join(dataDir, 'tls'),
  };
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}
