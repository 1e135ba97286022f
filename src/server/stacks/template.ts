/**
 * The template language of string fields in stacks: `{{ .Vars.name }}`,
 * `{{ .Envoy.hostname }}`, and `{{ "literal" }}` (how to write a literal `{{`).
 * Deliberately tiny — no conditionals or loops — so every template can be checked
 * statically against the vars that will be in scope.
 */
export type Part = { text: string } | { variable: string } | { envoy: 'hostname' };

export interface Template {
  parts: Part[];
  /** the variable names the template reads */
  vars: string[];
}

const EXPR_RE = /^(?:\.Vars\.([A-Za-z_][A-Za-z0-9_]*)|\.Envoy\.(hostname)|"((?:[^"\\]|\\.)*)")$/;

/** Parse, or return why not. */
export function parseTemplate(s: string): Template | { error: string } {
  const parts: Part[] = [];
  const vars: string[] = [];
  let i = 0;
  while (i < s.length) {
    const open = s.indexOf('{{', i);
    if (open < 0) {
      parts.push({ text: s.slice(i) });
      break;
    }
    if (open > i) parts.push({ text: s.slice(i, open) });
    const close = s.indexOf('}}', open + 2);
    if (close < 0) return { error: `unclosed "{{" in template` };
    const expr = s.slice(open + 2, close).trim();
    const m = EXPR_RE.exec(expr);
    if (m === null) {
      return { error: `unsupported template expression "{{ ${expr} }}" (use {{ .Vars.name }}, {{ .Envoy.hostname }} or {{ "text" }})` };
    }
    if (m[1] !== undefined) {
      parts.push({ variable: m[1] });
      vars.push(m[1]);
    } else if (m[2] !== undefined) {
      parts.push({ envoy: 'hostname' });
    } else {
      parts.push({ text: (m[3] ?? '').replace(/\\(.)/g, '$1') });
    }
    i = close + 2;
  }
  return { parts, vars };
}

export interface RenderScope {
  vars: Readonly<Record<string, string>>;
  hostname: string;
}

/** Render; returns the names of undefined variables instead when there are any. */
export function renderTemplate(t: Template, scope: RenderScope): { value: string } | { undefinedVars: string[] } {
  const missing = t.vars.filter((v) => !Object.hasOwn(scope.vars, v));
  if (missing.length > 0) return { undefinedVars: [...new Set(missing)] };
  let out = '';
  for (const p of t.parts) {
    if ('text' in p) out += p.text;
    else if ('variable' in p) out += scope.vars[p.variable] ?? '';
    else out += scope.hostname;
  }
  return { value: out };
}
