/**
 * server.yaml: read from --config, $VIGO_CONFIG_FILE, or ./server.yaml; a missing file
 * means all defaults. Every section is validated with zod; unknown fields are refused so a
 * typo is never silently ignored, and a bad file stops the server naming the file, the
 * field and why. The keys are the reference system's (`server.api_listen`,
 * `checkin.interval: "5m"`, …); each has one spelling, and an old one is refused naming
 * the key to write instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { VigoError } from '../platform/errors.js';
import { paths, type Env } from '../platform/paths.js';
import { MIN_REPORT_CAP_BYTES } from '../wire/run-report.js';
import { spannerSection, defaultSpannerConfig } from '../spanner/index-config.js';
import { swarmPatternError } from './swarm-gates.js';

const listen = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'must be HOST:PORT or :PORT for all addresses (e.g. :8443, 127.0.0.1:8443)')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535');
/** An address others dial: a host is required. */
const dialAddr = listen.refine((s) => !s.startsWith(':'), 'must be HOST:PORT (a host to dial, e.g. 10.0.0.5:8443)');
const glob = z.string().min(1).max(255);
const positive = z.number().int().positive();

const serverSection = z
  .object({
    hostname: z.string().min(1).optional(),
    /** REST API (HTTPS); a bare :PORT listens on every address */
    api_listen: listen.default(':8443'),
    grpc_listen: listen.default(':1530'),
    /** the gRPC address enrolled envoys are told to dial (default: the REST host they used + the gRPC port) */
    grpc_advertise: dialAddr.optional(),
    tls_sans: z.array(z.string().min(1)).default([]),
    /** where the TLS files live (default <data_dir>/tls/…); missing ones are created at first start */
    tls: z
      .object({
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
        ca_file: z.string().min(1).optional(),
        ca_key_file: z.string().min(1).optional(),
      })
      .strict()
      .default({}),
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

/** "5m", "15s", "1h30m", "1.5h", "500ms": Go's duration syntax (ms, s, m, h), as the reference's server.yaml writes it. */
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/** Milliseconds of a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  if (!DURATION_RE.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * (DURATION_UNIT_MS[m[2] as string] as number);
  return Math.round(ms);
}

const duration = (min: string, max: string) =>
  z
    .string({ error: `must be a duration string like "5m", "15s" or "1h30m" (a bare number has no unit)` })
    .refine((s) => parseDuration(s) !== null, { error: (i) => `${JSON.stringify(i.input)} is not a duration: write a number and a unit (ms, s, m, h), e.g. "5m", "15s" or "1h30m"` })
    .refine((s) => (parseDuration(s) ?? 0) >= (parseDuration(min) ?? 0), `must be at least ${min}`)
    .refine((s) => (parseDuration(s) ?? 0) <= (parseDuration(max) ?? 0), `must be at most ${max}`);

const checkinSection = z
  .object({
    /** how often envoys check in; offline = no check-in within 2 × this */
    interval: duration('1s', '24h').default('5m'),
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

/** a swarm gate pattern: a hostname glob, `-` in front for a deny (src/server/swarm-gates.ts) */
const gatePattern = glob.superRefine((p, c) => {
  const err = swarmPatternError(p);
  if (err !== null) c.addIssue({ code: 'custom', message: `${JSON.stringify(p)} is not a hostname pattern: ${err}` });
});
const gateList = z.array(gatePattern).max(1000).default([]);

/** The envoy-level gates: first match wins, `-` denies, no match (or an empty list) denies. */
const swarmSection = z
  .object({
    enabled: gateList,
    gitback: z.object({ enabled: gateList }).strict().optional(),
    puddle: z.object({ enabled: gateList }).strict().optional(),
  })
  .strict();

export const serverYamlSchema = z
  .object({
    server: serverSection.default(serverSection.parse({})),
    database: databaseSection.default(databaseSection.parse({})),
    checkin: checkinSection.default(checkinSection.parse({})),
    pki: pkiSection.default(pkiSection.parse({})),
    secrets: secretsSection.default(secretsSection.parse({})),
    swarm: swarmSection.default(swarmSection.parse({})),
    spanner: spannerSection.default(defaultSpannerConfig),
  })
  .strict();

export type ServerYaml = z.infer<typeof serverYamlSchema>;

/** Where the TLS material lives (server.tls.*, default <data_dir>/tls/). */
export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
  caKey: string;
  /** beside the server certificate: the SANs it was issued for (a change reissues it) */
  sans: string;
}

/** The validated file plus every path resolved (VIGO_ROOT-aware). */
export interface ServerConfig extends ServerYaml {
  file: string | null;
  dataDir: string;
  stacksDir: string;
  liveDir: string;
  /** the ops-puddle dir, <data_dir>/ops-puddle as the ops-puddle verbs default it (spanner mode: the stacks project state under .vigo-gitback/) */
  opsPuddleDir: string;
  /** this host's agent gitback store (the stacks project's bare repo under projects/) */
  gitbackBase: string;
  /** PATH and HOME for the git processes of the stacks watcher */
  gitHost: { PATH?: string | undefined; HOME?: string | undefined };
  dbPath: string;
  secretsDir: string;
  tls: TlsFiles;
  /** checkin.interval in milliseconds */
  checkinIntervalMs: number;
}

/**
 * Spellings that are not keys, each with the key to write instead. An operator's file from
 * an older vigo-ts (or a guess) is refused with the one spelling there is.
 */
const NOT_KEYS: ReadonlyArray<{ path: readonly string[]; use: string; note?: string }> = [
  { path: ['listen'], use: 'server.api_listen' },
  { path: ['rest_listen'], use: 'server.api_listen' },
  { path: ['api_listen'], use: 'server.api_listen' },
  { path: ['grpc_listen'], use: 'server.grpc_listen' },
  { path: ['hostname'], use: 'server.hostname' },
  { path: ['tls'], use: 'server.tls' },
  { path: ['tls_sans'], use: 'server.tls_sans' },
  { path: ['server', 'listen'], use: 'server.api_listen' },
  { path: ['server', 'rest_listen'], use: 'server.api_listen' },
  { path: ['server', 'sans'], use: 'server.tls_sans' },
  { path: ['server', 'tls', 'cert'], use: 'server.tls.cert_file' },
  { path: ['server', 'tls', 'key'], use: 'server.tls.key_file' },
  { path: ['server', 'tls', 'ca'], use: 'server.tls.ca_file' },
  { path: ['server', 'tls', 'ca_key'], use: 'server.tls.ca_key_file' },
  { path: ['server', 'tls_cert'], use: 'server.tls.cert_file' },
  { path: ['server', 'tls_key'], use: 'server.tls.key_file' },
  { path: ['server', 'tls_ca'], use: 'server.tls.ca_file' },
  { path: ['checkin', 'interval_s'], use: 'checkin.interval', note: ' (a duration, e.g. "60s" or "5m")' },
  { path: ['checkin_interval'], use: 'checkin.interval', note: ' (a duration, e.g. "5m")' },
];

function notKeys(doc: unknown, file: string): string[] {
  const out: string[] = [];
  for (const k of NOT_KEYS) {
    let node: unknown = doc;
    for (const seg of k.path.slice(0, -1)) node = node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[seg] : undefined;
    if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, k.path[k.path.length - 1] as string)) {
      out.push(`${file}: \`${k.path.join('.')}\` is not a key; use \`${k.use}\`${k.note ?? ''}`);
    }
  }
  return out;
}

export function defaultConfigFile(env: NodeJS.ProcessEnv): string {
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
  const renamed = notKeys(doc, file);
  if (renamed.length > 0) throw new VigoError('E_CONFIG', renamed.join('\n'), { hint: 'rename the keys named above (docs/server.md lists every key) and start again' });
  const r = serverYamlSchema.safeParse(doc);
  if (!r.success) throw new VigoError('E_CONFIG', describeIssues(file, r.error), { hint: 'fix server.yaml (see docs/server.md for every field) and start again' });
  return r.data;
}

export function loadServerConfig(file: string, env: Env): ServerConfig {
  const present = existsSync(file);
  const y = parseServerYaml(present ? readFileSync(file, 'utf8') : '', file);
  const dataDir = y.server.data_dir ?? paths.srv(env);
  const tlsDir = join(dataDir, 'tls');
  const cert = y.server.tls.cert_file ?? join(tlsDir, 'server.crt');
  return {
    ...y,
    file: present ? file : null,
    dataDir,
    stacksDir: y.server.stacks_dir ?? join(dataDir, 'stacks'),
    liveDir: join(dataDir, '.live'),
    opsPuddleDir: join(dataDir, 'ops-puddle'),
    gitbackBase: paths.gitbackBase(env),
    gitHost: { PATH: (env as { PATH?: string }).PATH, HOME: env.HOME },
    dbPath: y.database.path ?? join(dataDir, 'db', 'vigo.db'),
    secretsDir: y.secrets.dir ?? join(dataDir, 'secrets'),
    tls: {
      cert,
      key: y.server.tls.key_file ?? join(tlsDir, 'server.key'),
      ca: y.server.tls.ca_file ?? join(tlsDir, 'ca.crt'),
      caKey: y.server.tls.ca_key_file ?? join(tlsDir, 'ca.key'),
      sans: join(dirname(cert), 'server.sans.json'),
    },
    checkinIntervalMs: parseDuration(y.checkin.interval) ?? 300_000,
  };
}

/** A host to bind for a listen address: a bare :PORT is every address (IPv6 and IPv4 when the host has IPv6). */
export function bindHost(host: string, hasIpv6: boolean): string {
  return host === '' ? (hasIpv6 ? '::' : '0.0.0.0') : host;
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}
