/**
 * `git-remote-gitback`: git's remote helper for gitback:// URLs. The same program as
 * `vigo`, chosen by the name it is invoked under (see bin/vigo.js).
 */
export async function main(_argv: string[] = process.argv): Promise<void> {
  process.stderr.write('git-remote-gitback: the gitback remote helper is not built in this version\n');
  process.exitCode = 128;
}
