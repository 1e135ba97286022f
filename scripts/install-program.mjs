#!/usr/bin/env node
// Installs the built program (package.json, bin/, dist/src/, the native artifacts in
// build/Release/ and the production packages of node_modules) into a directory, the way
// an operator's `npm install -g` would lay it out (commands/ holds vigo, vigocli,
// vigosrv and git-remote-gitback, linked as npm links them onto PATH), with every file world-readable and
// every directory world-traversable (hard links where the files already are). scripts/run-tests.mjs installs once per test run so
// that commands run as other Unix users never depend on where the checkout lives.
//
//   node scripts/install-program.mjs <dest>     (dest must not exist or be empty)
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Copies src to dst (symlinks kept as links), adding read (and, for dirs and executables, search) for everyone. */
function copyTree(src, dst) {
  const st = lstatSync(src);
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dst);
  } else if (st.isDirectory()) {
    mkdirSync(dst);
    for (const name of readdirSync(src)) copyTree(join(src, name), join(dst, name));
    chmodSync(dst, (st.mode & 0o7777) | 0o555);
  } else if (st.isFile()) {
    const mode = (st.mode & 0o7777) | 0o444 | (st.mode & 0o100 ? 0o111 : 0);
    // a hard link when the file is already as readable as it must be (fast, same bytes;
    // nothing writes into an installed program), else a copy with the modes fixed
    if (mode === (st.mode & 0o7777)) {
      try {
        linkSync(src, dst);
        return;
      } catch {
        /* another file system, or links not allowed: copy */
      }
    }
    copyFileSync(src, dst);
    chmodSync(dst, mode);
  }
}

/** node_modules/<pkg> paths the program needs at run time (package-lock entries not marked dev). */
function productionPackages(root) {
  const lockFile = join(root, 'package-lock.json');
  if (!existsSync(lockFile)) return null;
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  return Object.entries(lock.packages ?? {})
    .filter(([k, v]) => k.startsWith('node_modules/') && v.dev !== true)
    .map(([k]) => k)
    .filter((k) => existsSync(join(root, k)));
}

export function installProgram(dest, root = checkout) {
  for (const need of ['dist/src', 'build/Release/vigo_native.node', 'node_modules']) {
    if (!existsSync(join(root, need))) throw new Error(`install: ${join(root, need)} is missing (run \`npm install\` and \`npm run build\` first)`);
  }
  mkdirSync(dest, { recursive: true });
  if (readdirSync(dest).length > 0) throw new Error(`install: ${dest} is not empty`);
  chmodSync(dest, 0o755);
  copyTree(join(root, 'package.json'), join(dest, 'package.json'));
  copyTree(join(root, 'bin'), join(dest, 'bin'));
  mkdirSync(join(dest, 'dist'));
  chmodSync(join(dest, 'dist'), 0o755);
  copyTree(join(root, 'dist', 'src'), join(dest, 'dist', 'src'));
  // the built artifacts only (the addon, the connect tunnel), not the object files
  for (const d of ['build', 'build/Release']) {
    mkdirSync(join(dest, d));
    chmodSync(join(dest, d), 0o755);
  }
  for (const name of readdirSync(join(root, 'build', 'Release'))) {
    const p = join(root, 'build', 'Release', name);
    if (statSync(p).isFile()) copyTree(p, join(dest, 'build', 'Release', name));
  }
  // node_modules may be a symlink into another checkout: copy what it points at
  const modules = realpathSync(join(root, 'node_modules'));
  mkdirSync(join(dest, 'node_modules'));
  chmodSync(join(dest, 'node_modules'), 0o755);
  const pkgs = productionPackages(root);
  if (pkgs === null) throw new Error(`install: ${join(root, 'package-lock.json')} is missing; it tells production packages from dev ones`);
  // a nested entry (node_modules/a/node_modules/b) is a dependency of its parent: it comes with it
  for (const k of pkgs.filter((p) => !p.slice('node_modules/'.length).includes('/node_modules/')).sort()) {
    const rel = k.slice('node_modules/'.length);
    const dst = join(dest, 'node_modules', rel);
    if (rel.includes('/') && !existsSync(dirname(dst))) {
      mkdirSync(dirname(dst));
      chmodSync(dirname(dst), 0o755);
    }
    copyTree(join(modules, rel), dst);
  }
  // the commands by the names package.json gives them (as npm links them onto PATH)
  const bins = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin ?? {};
  mkdirSync(join(dest, 'commands'));
  chmodSync(join(dest, 'commands'), 0o755);
  for (const [name, target] of Object.entries(bins)) symlinkSync(join('..', target), join(dest, 'commands', name));
  return dest;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dest = process.argv[2];
  if (dest === undefined) {
    console.error('usage: node scripts/install-program.mjs <dest>');
    process.exit(2);
  }
  const t0 = Date.now();
  installProgram(dest);
  console.log(`installed the program into ${dest} in ${Date.now() - t0} ms`);
}
