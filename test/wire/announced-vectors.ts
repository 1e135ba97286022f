// Builds test/vectors/gitback-announced.json (docs/wire-formats.md §21). The checked-in JSON
// is the specification: gitback-announced.test.ts loads it as it is and never regenerates
// it. Regenerate only after a deliberate format change:
// `npx tsc -p tsconfig.json && node dist/test/wire/announced-vectors.js`, then review the diff.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, projectId } from '../../src/trust/index.js';
import { encodeAnnouncedCache, parseAnnouncedCache, type AnnouncedProject } from '../../src/wire/gitback-announced.js';
import { serialize, vectorDir } from '../vectors/generate.js';
import { pk, sha } from '../swarm/fixtures.js';

export const ANNOUNCED_FILE = 'gitback-announced.json';

export interface AnnouncedVectors {
  valid: Array<{ name: string; text: string; forged: string[] }>;
  invalid: Array<{ name: string; text: string; code: 'E_ANNOUNCED_MALFORMED' }>;
}

export const FOUNDER = pk('announced/founder');
export const OTHER = pk('announced/other');
export const WEB = projectId(fromHex(FOUNDER), 'vigo-web');
export const DOTS = projectId(fromHex(FOUNDER), 'dotfiles');

export function buildAnnouncedVectors(): AnnouncedVectors {
  const entry = (o: Partial<AnnouncedProject>): AnnouncedProject => ({ project_id: WEB, handle: 'vigo-web', founder: null, dr_scope: 'members-only', hosts: ['10.77.0.10'], ...o });
  const valid: AnnouncedVectors['valid'] = [];
  const add = (name: string, projects: AnnouncedProject[], forged: string[] = []): void => {
    const text = encodeAnnouncedCache({ written_at: 1_764_950_400, projects });
    parseAnnouncedCache(text, name);
    valid.push({ name, text, forged });
  };
  add('empty', []);
  add('one entry, founder unknown', [entry({})]);
  add('founder derived, two hosts, and an old 2-field announce', [
    entry({ founder: FOUNDER, hosts: ['b.lan', '10.77.0.10'] }),
    entry({ project_id: DOTS, handle: 'dotfiles', dr_scope: 'swarm-wide', founder: FOUNDER }),
    entry({ project_id: sha('announced/old'), handle: null, dr_scope: null }),
  ]);
  // well formed, but the named founder does not derive the id: parsed, then refused by checkAnnouncedEntry
  add('forged founder (shape valid, entry refused)', [entry({ founder: OTHER })], [WEB]);
  const good = JSON.parse(valid[1]!.text) as { projects: Array<Record<string, unknown>> };
  const mutate = (f: (d: Record<string, unknown> & { projects: Array<Record<string, unknown>> }) => void): string => {
    const d = structuredClone(good) as Record<string, unknown> & { projects: Array<Record<string, unknown>> };
    f(d);
    return JSON.stringify(d);
  };
  const invalid: AnnouncedVectors['invalid'] = [
    { name: 'version 1 (before ADR-023 fields)', text: mutate((d) => { d.v = 1; }) },
    { name: 'unknown top-level field', text: mutate((d) => { d.extra = true; }) },
    { name: 'unknown entry field', text: mutate((d) => { d.projects[0]!.owner = 'x'; }) },
    { name: 'missing founder field', text: mutate((d) => { delete d.projects[0]!.founder; }) },
    { name: 'upper-case project id', text: mutate((d) => { d.projects[0]!.project_id = WEB.toUpperCase(); }) },
    { name: 'bad handle', text: mutate((d) => { d.projects[0]!.handle = '../etc'; }) },
    { name: 'handle without scope', text: mutate((d) => { d.projects[0]!.dr_scope = null; }) },
    { name: 'bad scope', text: mutate((d) => { d.projects[0]!.dr_scope = 'everyone'; }) },
    { name: 'founder without handle', text: mutate((d) => { Object.assign(d.projects[0]!, { handle: null, dr_scope: null, founder: FOUNDER }); }) },
    { name: 'no hosts', text: mutate((d) => { d.projects[0]!.hosts = []; }) },
    { name: 'host with a colon', text: mutate((d) => { d.projects[0]!.hosts = ['10.0.0.1:1531']; }) },
    { name: 'hosts not sorted', text: mutate((d) => { d.projects[0]!.hosts = ['b.lan', 'a.lan']; }) },
    { name: 'entries repeated', text: mutate((d) => { d.projects.push(structuredClone(d.projects[0]!)); }) },
    { name: 'negative written_at', text: mutate((d) => { d.written_at = -1; }) },
    { name: 'duplicate key', text: valid[1]!.text.replace('{"v":2,', '{"v":2,"v":2,') },
    { name: 'not JSON', text: '{"v":2,' },
  ].map((x) => ({ ...x, code: 'E_ANNOUNCED_MALFORMED' as const }));
  return { valid, invalid };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(join(vectorDir(), ANNOUNCED_FILE), serialize(buildAnnouncedVectors()));
}
