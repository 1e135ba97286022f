// The daemon decides by the Clock and Rng it is given, not by the wall clock: a user who
// spent their status budget gets it back when the daemon's clock says a minute passed (and
// not before), and the bind challenge is drawn from the daemon's Rng. Real socket, real
// SO_PEERCRED; only time is held still.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitbackDaemon } from '../../src/gitback/daemon/server.js';
import { gitEnv } from '../../src/gitback/daemon/git.js';
import { daemonRequest } from '../../src/gitback/remote-helper.js';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { toHex } from '../../src/trust/index.js';
import { VigoError } from '../../src/platform/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-dclock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function daemon(socketPath: string, clock: ManualClock, seed: string): GitbackDaemon {
  const no = () => Promise.reject(new VigoError('E_NOT_MEMBER', 'no'));
  return new GitbackDaemon({
    socketPath,
    log: () => undefined,
    clock,
    rng: seededRng(seed),
    gitEnv: gitEnv(process.env),
    limits: { statusPerUidPerMinute: 3 },
    status: () => Promise.resolve({ figures: 'ok' }),
    authorize: no,
    authorizeMigrate: no,
    authorizeRetired: no,
    bind: no,
  });
}

async function ask(socketPath: string, req: Parameters<typeof daemonRequest>[1]): Promise<{ ok: boolean; code?: string; status?: unknown }> {
  const { sock, resp } = await daemonRequest(socketPath, req, { timeoutMs: 30_000 });
  sock.destroy();
  return resp.ok ? { ok: true, status: resp.status } : { ok: false, code: resp.code };
}

test('the status budget refills by the daemon clock only: spent while the wall clock runs, one back after 20 s, all after a minute', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  const sock = join(dir, 'status.sock');
  const d = daemon(sock, clock, 'status');
  await d.listen();
  try {
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await ask(sock, { v: 1, op: 'status' });
      answers.push(r.ok ? 'ok' : (r.code ?? '?'));
    }
    // the wall clock moves while these run; the daemon's does not, so nothing refills
    assert.deepEqual(answers, ['ok', 'ok', 'ok', 'E_RATE_LIMITED']);
    clock.advance(20_000); // a third of a minute: one token back (3 a minute)
    assert.equal((await ask(sock, { v: 1, op: 'status' })).ok, true);
    assert.equal((await ask(sock, { v: 1, op: 'status' })).code, 'E_RATE_LIMITED', '20 s buys one request, not two');
    clock.advance(60_000);
    const refilled = await Promise.all([0, 1, 2].map(() => ask(sock, { v: 1, op: 'status' })));
    assert.deepEqual(
      refilled.map((r) => r.ok),
      [true, true, true],
      'a minute on the daemon clock gives the whole budget back',
    );
  } finally {
    await d.close();
  }
});

test('the bind challenge comes from the daemon Rng', async () => {
  const sock = join(dir, 'bind.sock');
  const d = daemon(sock, new ManualClock(0), 'replay-me');
  await d.listen();
  try {
    const r = await ask(sock, { v: 1, op: 'bind' });
    assert.equal(r.ok, true);
    const expected = toHex(seededRng('replay-me').bytes(32));
    assert.deepEqual(r.status, { challenge: expected, uid: process.getuid?.() });
  } finally {
    await d.close();
  }
});
