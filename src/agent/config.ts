/**
 * The envoy's configuration: `$VIGO_ROOT/etc/vigo-envoy/agent.yaml` (or --config).
 * A missing file means all defaults. Each subsystem owns one top-level section and
 * validates it itself (naming the file and the field on error); unknown top-level
 * sections are refused so a typo is not silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { VigoError } from '../platform/errors.js';
import { paths } from '../platform/paths.js';

export const AGENT_SECTIONS = ['server', 'checkin', 'gitback', 'swarm', 'agent'] as const;
export type AgentSection = (typeof AGENT_SECTIONS)[number];

export interface AgentConfig {
  /** the file it came from (or the default path when absent) */
  file: string;
  sections: Partial<Record<AgentSection, Record<string, unknown>>>;
}

export function defaultAgentConfigPath(env: NodeJS.ProcessEnv): string {
  return join(paths.etcEnvoy(env), 'agent.yaml');
}

export function loadAgentConfig(file: string): AgentConfig {
  if (!existsSync(file)) return { file, sections: {} };
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new VigoError('E_CONFIG', `${file}: not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (doc === null || doc === undefined) return { file, sections: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new VigoError('E_CONFIG', `${file}: top level must be a mapping`);
  const sections: AgentConfig['sections'] = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!(AGENT_SECTIONS as readonly string[]).includes(k)) {
      throw new VigoError('E_CONFIG', `${file}: unknown section '${k}'`, { hint: `known sections: ${AGENT_SECTIONS.join(', ')}` });
    }
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw new VigoError('E_CONFIG', `${file}: section '${k}' must be a mapping`);
    sections[k as AgentSection] = v as Record<string, unknown>;
  }
  return { file, sections };
}
