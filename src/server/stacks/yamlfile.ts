/**
 * Reading one `.vgo` file as YAML with line numbers kept, so every problem can name the
 * file and the line.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { StacksProblem } from './types.js';

export interface YamlFile {
  file: string;
  contents: Node | null;
  line: (node: Node | null | undefined, fallback?: number) => number;
}

/** Parse `text`; YAML syntax errors (duplicate keys included) become problems. */
export function parseYaml(file: string, text: string, problems: StacksProblem[]): YamlFile | null {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: true });
  const errors = [...doc.errors];
  for (const e of errors) {
    problems.push({ file, line: e.linePos?.[0].line ?? null, message: `YAML: ${e.message.split(' at line ')[0]}` });
  }
  if (errors.length > 0) return null;
  return {
    file,
    contents: (doc.contents as Node | null) ?? null,
    line: (node, fallback = 1) => (node?.range !== undefined && node.range !== null ? lc.linePos(node.range[0]).line : fallback),
  };
}

export function readYaml(path: string, file: string, problems: StacksProblem[]): YamlFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    problems.push({ file, line: null, message: `cannot read: ${(e as Error).message}` });
    return null;
  }
  return parseYaml(file, text, problems);
}

export class AliasError extends Error {}

/** Set an own property even for a key like `__proto__` (input names never touch prototypes). */
export function defineOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A node as plain JS (scalars, lists, maps); aliases are refused. */
export function plain(node: unknown): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) throw new AliasError('YAML aliases (*name) are not supported');
  if (isScalar(node)) return node.value;
  if (isSeq(node)) return node.items.map(plain);
  if (isMap(node)) {
    const o: Record<string, unknown> = {};
    for (const p of node.items) defineOwn(o, String(plain(p.key)), plain(p.value));
    return o;
  }
  return null;
}

/** The pairs of a map node as [key, value node, key line]. */
export function entries(y: YamlFile, node: Node): Array<[string, Node | null, number]> {
  if (!isMap(node)) return [];
  return node.items.map((p) => {
    const k = p.key as Node;
    return [String(isScalar(k) ? k.value : plain(k)), (p.value as Node | null) ?? null, y.line(k)];
  });
}
