/**
 * server.yaml's `spanner:` section. Parsed with the rest of server.yaml (server/config.ts
 * embeds this schema), so a bad section stops vigosrv naming the field, e.g.
 * `server.yaml: spanner.advertise: must be HOST:PORT`. Standalone (the default) ignores the
 * rest; hub and spoke need spanner_id and bolt_id, a spoke its hub_addr.
 */
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT (a host to dial, e.g. 10.0.0.5:8443)')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535');
/** an address to listen on: a bare :PORT listens on every address, as server.yaml's listen keys */
const listenAddr = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]*):\d{1,5}$/, 'must be HOST:PORT or :PORT for all addresses (e.g. :8444, 127.0.0.1:8444)')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0–65535');
/** an address another bolt dials: a concrete host, lowercase (it is signed into the roster row) */
const peerAddr = hostPort.refine((s) => !/^(0\.0\.0\.0|\[::\]):/.test(s) && s === s.toLowerCase(), 'must be a lowercase HOST:PORT other bolts can dial (not 0.0.0.0)');
const id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of A-Z a-z 0-9 . _ -');
const glob = z.string().min(1).max(253);

const boltEntry = z.object({ id, addr: hostPort, patterns: z.array(glob).default([]) }).strict();

export const spannerSection = z
  .object({
    mode: z.enum(['standalone', 'hub', 'spoke']).default('standalone'),
    spanner_id: id.optional(),
    bolt_id: id.optional(),
    hub_addr: hostPort.optional(),
    peer_listen: listenAddr.optional(),
    /** host:port of this bolt's REST API as other bolts reach it (signed into its roster row) */
    advertise: peerAddr.optional(),
    /** hostname patterns of the envoys this bolt owns, first match wins */
    patterns: z.array(glob).max(64).default([]),
    bolts: z.array(boltEntry).default([]),
    /** seconds between liveness gossip rounds (a digest to a few live peers) */
    gossip_interval_s: z.number().positive().max(3600).default(5),
    /** how many peers each round goes to */
    gossip_fanout: z.number().int().min(1).max(64).default(3),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.mode !== 'standalone') {
      if (!s.spanner_id) ctx.addIssue({ code: 'custom', path: ['spanner_id'], message: `required when mode is ${s.mode}` });
      if (!s.bolt_id) ctx.addIssue({ code: 'custom', path: ['bolt_id'], message: `required when mode is ${s.mode}` });
    }
    if (s.mode === 'spoke' && !s.hub_addr) ctx.addIssue({ code: 'custom', path: ['hub_addr'], message: 'required when mode is spoke' });
    const ids = new Set<string>();
    s.bolts.forEach((b, i) => {
      if (ids.has(b.id)) ctx.addIssue({ code: 'custom', path: ['bolts', i, 'id'], message: `duplicate bolt id '${b.id}'` });
      ids.add(b.id);
    });
  });

export type SpannerConfig = z.infer<typeof spannerSection>;

export const defaultSpannerConfig: SpannerConfig = spannerSection.parse({});
