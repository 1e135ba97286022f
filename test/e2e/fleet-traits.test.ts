// Issue 14's producer half, end to end with a real vigosrv and two real `vigo agent run` on
// loopback: each envoy's puddle and gitback traits arrive through check-in (users with real
// homes and uids, a real bare repo per envoy with different tips), the mesh views answer
// (both hosts, the divergent ref, the founder's name), the fleet name map and each envoy's
// peer hints get written on the envoys (0644, the other envoy only), and after a vigosrv
// restart the views answer again from the stored traits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Fleet, freePort, waitFor } from '../server/harness.js';
import { fromHex, mintNameClaim, projectId, publicKeyFromSeed, seedSigner, sha256Hex, toHex } from '../../src/trust/index.js';
import { parseGitbackFleetView, parseNameMap, parsePeerHints, parsePuddleFleetView, type GitbackFleetView } from '../../src/wire/swarm-fleet.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

const seed = (n: string) => fromHex(sha256Hex(`fleet-traits-e2e/${n}`));
const pk = (n: string) => toHex(publicKeyFromSeed(seed(n)));
const PID = projectId(fromHex(pk('alice')), 'web');
const gates = 'swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["web-*"]\n  puddle:\n    enabled: ["web-*"]\n';
const base = 'checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n';

function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: fleet.dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
}

/** A user with a real home (their uid) holding a puddle and the project; a bare repo whose main is `content`. */
async function envoyFiles(envoy: string, user: string, uid: number, content: string): Promise<{ passwd: string; tip: string }> {
  const home = join(fleet.dir, 'homes', envoy, user);
  const puddle = join(home, '.vigo-puddle');
  const project = join(home, '.vigo-gitback', PID);
  mkdirSync(puddle, { recursive: true, mode: 0o700 });
  mkdirSync(project, { recursive: true, mode: 0o700 });
  writeFileSync(join(puddle, 'identity.pub'), `${pk(user)}\n`);
  writeFileSync(join(puddle, 'identity.wrapped'), 'wrapped');
  writeFileSync(join(puddle, 'name-claim.json'), JSON.stringify(await mintNameClaim(seedSigner(seed(user)), user, 1764000000)));
  writeFileSync(join(project, 'project.json'), JSON.stringify({ version: 1, project_id: PID, handle: 'web', founder: pk('alice'), scope: 'swarm-wide', members: [pk('alice'), pk('bob')], tombstoned_at: null }));
  for (const p of [home, puddle, join(home, '.vigo-gitback'), project, ...['identity.pub', 'identity.wrapped', 'name-claim.json'].map((f) => join(puddle, f)), join(project, 'project.json')]) chownSync(p, uid, uid);
  const bare = join(fleet.envoyRoot(envoy), 'var', 'lib', 'vigo', 'swarm', 'gitback', 'projects', `${PID}.git`);
  mkdirSync(join(bare, '..'), { recursive: true });
  git(['init', '-q', '--bare', bare]);
  const work = join(fleet.dir, 'work', envoy);
  git(['init', '-q', work]);
  writeFileSync(join(work, 'f'), content);
  git(['add', 'f'], work);
  git(['commit', '-qm', content], work);
  git(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
  const passwd = join(fleet.dir, `passwd-${envoy}`);
  writeFileSync(passwd, `root:x:0:0:root:/root:/bin/sh\n${user}:x:${uid}:${uid}::${home}:/bin/sh\n`);
  return { passwd, tip: git(['--git-dir', bare, 'rev-parse', 'refs/heads/main']) };
}

async function agentYaml(passwd: string): Promise<string> {
  // each its own announce port: the two do not discover (and replicate with) each other here
  return `checkin:\n  interval_s: 1\n  timeout_s: 5\nswarm:\n  listen: "127.0.0.1:${await freePort()}"\n  announce_port: ${await freePort()}\n  announce_interval_s: 30\ngitback:\n  passwd_file: ${passwd}\n`;
}

test('traits arrive, the views answer, name-map.json and peer-hints.json get written, and the views survive a restart', { timeout: 300_000 }, async () => {
  await fleet.startServer(base + gates);
  const idA = await fleet.enroll('web-a');
  const idB = await fleet.enroll('web-b');
  const a = await envoyFiles('web-a', 'alice', 5301, 'one\n');
  const b = await envoyFiles('web-b', 'bob', 5302, 'two\n');
  fleet.startAgent('web-a', await agentYaml(a.passwd));
  fleet.startAgent('web-b', await agentYaml(b.passwd));

  const view = await waitFor('both hosts in the gitback view', async () => {
    const v = parseGitbackFleetView(await fleet.api<unknown>('GET', '/api/v1/swarm/gitback/fleet'));
    return v.projects[0]?.hosts.length === 2 ? v : null;
  }, 120_000, 250);
  const p = view.projects[0]!;
  assert.equal(p.project_id, PID);
  assert.equal(p.handle, 'web');
  assert.equal(p.founder_name, 'alice');
  assert.deepEqual(p.divergent_refs, ['refs/heads/main'], 'the two envoys hold different tips');
  const tips = Object.fromEntries(p.hosts.map((h) => [h.envoy_id, h.refs['refs/heads/main']]));
  assert.deepEqual(tips, { [idA]: a.tip, [idB]: b.tip });
  assert.ok(p.hosts.every((h) => h.reporting && !h.stale && h.bare_repo && h.bare_repo_bytes > 0));

  const names = parseNameMap(await fleet.api<unknown>('GET', '/api/v1/swarm/puddle/names'));
  assert.deepEqual(names.names, { alice: { status: 'ok', pubkey: pk('alice') }, bob: { status: 'ok', pubkey: pk('bob') } });
  const puddles = parsePuddleFleetView(await fleet.api<unknown>('GET', '/api/v1/swarm/puddle/fleet'));
  assert.deepEqual(puddles.puddles.map((x) => [x.name, x.envoys.map((e) => e.hostname), x.users, x.health]), [['alice', ['web-a'], ['alice'], 'ok'], ['bob', ['web-b'], ['bob'], 'ok']]);

  // the views need a token like the other reads
  const anon = await fleet.apiRaw('GET', '/api/v1/swarm/gitback/fleet', undefined, { ...fleet.admin, token: '' });
  assert.equal(anon.status, 401, 'no token, no view');

  // the fleet files on each envoy: the name map, and hints naming the other envoy only
  for (const [envoy, me, other] of [['web-a', idA, idB], ['web-b', idB, idA]] as const) {
    const dir = join(fleet.envoyRoot(envoy), 'var', 'lib', 'vigo', 'swarm');
    const hints = await waitFor(`${envoy}'s peer hints`, () => {
      try {
        const h = parsePeerHints(readFileSync(join(dir, 'peer-hints.json')));
        return h.projects[PID] !== undefined ? h : null;
      } catch {
        return null;
      }
    }, 60_000, 250);
    assert.deepEqual(hints.projects[PID]!.map((h) => [h.envoy_id, h.addr]), [[other, '127.0.0.1']]);
    assert.ok(!JSON.stringify(hints).includes(me), 'never the envoy itself');
    const nm = parseNameMap(readFileSync(join(dir, 'name-map.json')));
    assert.deepEqual(nm.names, names.names);
    for (const f of ['name-map.json', 'peer-hints.json']) {
      const st = statSync(join(dir, f));
      assert.equal(st.mode & 0o777, 0o644, f);
      assert.equal(st.uid, 0, f);
    }
  }

  // vigosrv restarts: the views answer from the stored traits before any envoy resends them
  await fleet.stopServer();
  await fleet.startServer(base + gates);
  const again = parseGitbackFleetView(await fleet.api<unknown>('GET', '/api/v1/swarm/gitback/fleet')) as GitbackFleetView;
  assert.deepEqual(again.projects.map((x) => [x.handle, x.hosts.length, x.divergent_refs]), [['web', 2, ['refs/heads/main']]]);
  assert.match(fleet.srv!.out(), /swarm fleet: 2 envoy\(s\)' traits loaded/);
});
