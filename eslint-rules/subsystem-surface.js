/**
 * vigo/subsystem-surface: an import of `src/<sub>/<internal>` from outside the subsystem is
 * refused; other folders use `src/<sub>/index.ts` (docs/architecture.md). A subsystem is any
 * folder of src/ but platform, wire and cli. `test/<sub>/**` and `bench/<sub>[-*].bench.ts`
 * may use the internals of `<sub>`. Also refused: a subsystem importing the entry layer
 * (src/cli), agent and server importing each other, and imports of a file that moved.
 * The rules themselves live in scripts/surface-imports.mjs, which also rewrites imports.
 */
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MOVED_FILES, subsystemOf, surfaceViolation } from '../scripts/surface-imports.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoPath = (abs) => relative(ROOT, abs).split(sep).join('/');

export default {
  meta: {
    type: 'problem',
    docs: { description: 'imports of another subsystem go through its index.ts' },
    schema: [],
    messages: {
      internal: '{{target}} is internal to src/{{sub}}/: import {{surface}} instead (node scripts/surface-imports.mjs rewrites it; add the name to the surface if it is missing)',
      moved: '{{target}} moved to {{to}} (node scripts/surface-imports.mjs rewrites it)',
      entry: 'src/{{sub}}/ may not import the entry layer ({{target}}): move what it needs to src/wire/ or src/{{sub}}/',
      peers: 'src/{{sub}}/ may not import src/{{other}}/ ({{target}}): a format both speak belongs in src/wire/',
    },
  },
  create(context) {
    const importer = repoPath(context.filename);
    if (!/^(src|test|bench)\//.test(importer)) return {};
    const from = subsystemOf(importer);
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const target = repoPath(resolve(dirname(join(ROOT, importer)), spec)).replace(/\.js$/, '.ts');
      if (MOVED_FILES[target]) return context.report({ node, messageId: 'moved', data: { target, to: MOVED_FILES[target] } });
      const surface = surfaceViolation(importer, target);
      if (surface !== null) return context.report({ node, messageId: 'internal', data: { target, sub: subsystemOf(target), surface } });
      if (from === null) return;
      if (target.startsWith('src/cli/')) return context.report({ node, messageId: 'entry', data: { sub: from, target } });
      const to = subsystemOf(target);
      if ((from === 'agent' && to === 'server') || (from === 'server' && to === 'agent')) context.report({ node, messageId: 'peers', data: { sub: from, other: to, target } });
    };
    const onSource = (node) => node.source && node.source.type === 'Literal' && check(node.source, node.source.value);
    return {
      ImportDeclaration: onSource,
      ExportNamedDeclaration: onSource,
      ExportAllDeclaration: onSource,
      ImportExpression: onSource,
    };
  },
};
