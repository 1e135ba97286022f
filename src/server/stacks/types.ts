import type { ResourceType } from '../../wire/bundle.js';
import type { Template } from './template.js';

export type Hex = string;

/** One thing wrong with a stacks tree; `file` is relative to the stacks directory. */
export interface StacksProblem {
  file: string;
  line: number | null;
  message: string;
}

export interface FieldValue {
  value: unknown;
  line: number;
  /** for string fields: the parsed template */
  template?: Template;
}

export interface StackResource {
  type: ResourceType;
  /** position in the configcrate's `resources` list */
  index: number;
  line: number;
  fields: Record<string, FieldValue>;
  /** references to other resources; templates allowed (a path may name the hostname) */
  require: Array<{ ref: string; line: number; template: Template }>;
}

export interface Configcrate {
  name: string;
  file: string;
  vars: Record<string, string>;
  resources: StackResource[];
}

export interface MatchBlock {
  /** position in envoys.vgo's list */
  index: number;
  match: string;
  configcrates: string[];
  /** the line of each entry of `configcrates` */
  configcrateLines: number[];
  /** users whose usercrates/<user>.vgo this block's envoys get */
  usercrates: string[];
  usercrateLines: number[];
  vars: Record<string, string>;
  file: string;
  line: number;
}

export interface Stacks {
  configcrates: Map<string, Configcrate>;
  /** usercrates/<user>.vgo by user; `name` is the user */
  usercrates: Map<string, Configcrate>;
  envoys: MatchBlock[];
  fingerprint: Hex;
}
