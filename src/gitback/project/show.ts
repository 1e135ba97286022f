/** Read-only verbs: `project list [--json]` and `project status <project_id>`. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DELEGATION_MAX_LEN, DELEGATION_WARN_LEN, tokenId } from '../../trust/index.js';
import { localGate, iso, userBase, type GitbackContext } from '../context.js';
import { FILES, resolveProject, scanAll } from '../state.js';
import { canonicalUrl } from '../url.js';
import { fmtKey, founderNow } from './common.js';

export function projectList(ctx: GitbackContext, opts: { json?: boolean }): void {
  localGate(ctx);
  const { projects: all, broken } = scanAll(userBase(ctx));
  const brokenLines = broken.map((b) => `  ! ${b.project_id.slice(0, 16)}… is broken: ${b.error}\n    restore the file, or drop it with \`vigo swarm gitback project leave ${b.project_id} --yes\`\n`);
  if (opts.json === true) {
    ctx.out(JSON.stringify(all.map((s) => s.config), null, 2) + '\n');
    for (const l of brokenLines) ctx.err(l); // stdout stays a ProjectConfig array
    return;
  }
  if (all.length === 0 && broken.length === 0) {
    ctx.out('no projects (found one with `vigo swarm gitback project init <handle>`, or join one)\n');
    return;
  }
  ctx.out(`${'HANDLE'.padEnd(24)} ${'SCOPE'.padEnd(14)} ${'MEMBERS'.padEnd(14)} ${'TOKENS'.padEnd(8)} PROJECT_ID\n`);
  for (const s of all) {
    const c = s.config;
    const handle = (c.handle + (c.tombstoned_at !== null ? ' †' : '')).padEnd(24);
    ctx.out(`${handle} ${c.scope.padEnd(14)} ${String(c.members.length).padEnd(14)} ${String(s.chain.length).padEnd(8)} ${c.project_id.slice(0, 16)}…\n`);
  }
  for (const b of broken) ctx.out(`${'(broken)'.padEnd(24)} ${'?'.padEnd(14)} ${'?'.padEnd(14)} ${'?'.padEnd(8)} ${b.project_id.slice(0, 16)}…\n`);
  for (const l of brokenLines) ctx.out(l);
}

export function projectStatus(ctx: GitbackContext, arg: string): void {
  localGate(ctx);
  const s = resolveProject(userBase(ctx), arg);
  const c = s.config;
  const leaf = s.chain[s.chain.length - 1];
  const cur = founderNow(s);
  const n = s.delegations.length;
  const lines = [
    `project ${c.handle}`,
    `  URL:             ${canonicalUrl(c.project_id, c.handle)}`,
    `  Project ID:      ${c.project_id}`,
    `  Founder:         ${fmtKey(c.founder)}${n > 0 ? ' (genesis)' : ''}`,
    `  Scope:           ${c.scope}`,
    `  Fan-out:         LAN peers announcing the project${c.cross_subnet_members.length > 0 ? ` + ${c.cross_subnet_members.join(', ')}` : ''}`,
    `  Members:         ${c.members.length}`,
    ...c.members.map((m) => `    ${fmtKey(m)}${m === cur ? ' (founder)' : ''}`),
    `  Token chain:     depth ${s.chain.length}`,
    ...s.chain.map((t, i) => `    [${i}] ${tokenId(t)}  ${t.role} → ${fmtKey(t.subject).slice(0, 24)}…`),
  ];
  if (leaf) {
    lines.push(`  Leaf role:       ${leaf.role}`, `  Leaf subject:    ${fmtKey(leaf.subject)}`, `  Issued:          ${iso(leaf.issued_at)}`, `  Expires:         ${iso(leaf.expires_at)}`);
  }
  lines.push(`  Delegations:     ${n}/${DELEGATION_MAX_LEN}${n > 0 ? ' hop(s)' : ''}`, `  Current founder: ${fmtKey(cur)}`);
  if (n >= DELEGATION_MAX_LEN) {
    lines.push(`  !! AT CAP: the delegation chain is ${n}/${DELEGATION_MAX_LEN}; the next founder rekey cannot extend it.`, `     Re-found it now: \`vigo swarm gitback project re-found ${c.handle}\` (no rekey needed first: \`puddle rekey-pair\` refuses at the cap;`,
      `     \`rekey-pair --force-orphan-projects\` would tombstone it, and your new key could still re-found it).`);
  } else if (n >= DELEGATION_WARN_LEN) {
    lines.push(`  ⚠ warning: the delegation chain is ${n}/${DELEGATION_MAX_LEN} (warn band from ${DELEGATION_WARN_LEN}); plan a re-found before the cap`);
  }
  if (c.tombstoned_at !== null) {
    lines.push(`  TOMBSTONED:      ${iso(c.tombstoned_at)}${c.successor ? ` (continues as ${c.successor})` : ''}`);
    lines.push(`  hint: the helper daemon refuses git operations here; ${c.successor ? `use the re-founded project` : 'run `project re-found`'} or drop the archive with \`project leave ${c.project_id}\``);
  }
  lines.push(
    `  State:           ${s.dir}`,
    `  Pending:         leave.pending ${existsSync(join(s.dir, FILES.leavePending)) ? 'yes' : 'no'}, revoke.pending ${existsSync(join(s.dir, FILES.revokePending)) ? 'yes' : 'no'}`,
  );
  ctx.out(lines.join('\n') + '\n');
}
