// The ops-puddle on disk: the pair decision (a ManualClock: wrong, expired, reused, locked),
// the claim writing nothing but the failure count when refused, the seed re-wrapped under
// the joiner's own master key (a rotation on one side leaves the other valid), and status
// reading the public files only (no master key needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/platform/clock.js';
import { ensureMasterKey, masterKeyWrap, secretsPaths } from '../../src/server/index-admin.js';
import {
  MAX_PAIR_FAILURES,
  OPS_FILES,
  OPS_PUDDLE_WRAP_DOMAIN,
  PAIR_TTL_MS,
  SERVICE_PUDDLE_WRAP_DOMAIN,
  claimPair,
  codeSha256,
  decideClaim,
  newPairCode,
  newPendingPair,
  openOpsSeed,
  openServicePuddle,
  opsInit,
  opsJoinPrepare,
  opsJoinWrite,
  opsPair,
  opsStatus,
  readPending,
  validateOpsName,
  type OpsWraps,
} from '../../src/spanner/index-ops.js';
import { isVigoError } from '../../src/platform/errors.js';

function host(root: string, name: string) {
  const dir = join(root, name);
  const p = secretsPaths(join(dir, 'secrets'), dir);
  ensureMasterKey(p);
  const wraps = (): OpsWraps => ({ service: masterKeyWrap(p, SERVICE_PUDDLE_WRAP_DOMAIN), ops: masterKeyWrap(p, OPS_PUDDLE_WRAP_DOMAIN) });
  return { p, ops: join(dir, 'ops-puddle'), puddle: join(dir, 'puddle'), wraps };
}

const code = (e: unknown): string => (isVigoError(e) ? e.code : String(e));

test('the pair decision: right once; wrong, expired, reused and locked refused', () => {
  const clock = new ManualClock(1_000_000);
  const c = newPairCode(randomBytes);
  assert.match(c, /^[A-Za-z0-9_-]{16}$/);
  let p = newPendingPair(c, clock.now());
  assert.equal(p.code_sha256, codeSha256(c));
  assert.ok(!JSON.stringify(p).includes(c), 'only the hash is kept');

  const wrong = decideClaim(p, 'AAAAAAAAAAAAAAAA', clock.now());
  assert.equal(wrong.ok, false);
  assert.equal(!wrong.ok && wrong.code, 'E_PAIR_WRONG');
  assert.equal(wrong.next?.failures, 1);

  const ok = decideClaim(p, c, clock.now());
  assert.equal(ok.ok, true);
  const used = decideClaim(ok.next, c, clock.now());
  assert.equal(!used.ok && used.code, 'E_PAIR_USED');

  clock.advance(PAIR_TTL_MS);
  const late = decideClaim(p, c, clock.now());
  assert.equal(!late.ok && late.code, 'E_PAIR_EXPIRED');

  clock.set(1_000_000);
  for (let i = 0; i < MAX_PAIR_FAILURES; i++) {
    const d = decideClaim(p, `wrongwrongwrong${i}`, clock.now());
    assert.equal(!d.ok && d.code, 'E_PAIR_WRONG');
    p = d.next!;
  }
  const locked = decideClaim(p, c, clock.now());
  assert.equal(!locked.ok && locked.code, 'E_PAIR_LOCKED', 'the right code no longer opens a locked offer');
  assert.equal(!decideClaim(null, c, clock.now()).ok, true);
});

test('ops-puddle names follow the puddle rules and are not project-id lookalikes', () => {
  validateOpsName('alexander4-ops');
  for (const bad of ['', '.hidden', 'a/b', 'x'.repeat(65), 'a'.repeat(64), 'naïve']) assert.throws(() => validateOpsName(bad), (e) => code(e) === 'E_OPS_BAD_NAME', bad);
});

test('init, pair, claim, join: same seed, different wraps; a rotation on one side leaves the other valid', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-puddle-'));
  try {
    const a = host(root, 'a');
    const b = host(root, 'b');
    const init = opsInit(a.ops, a.puddle, a.wraps(), 'alexander4-ops');
    assert.deepEqual(init.members, [init.self]);
    assert.equal(statSync(join(a.ops, OPS_FILES.wrapped)).mode & 0o777, 0o600);
    assert.equal(statSync(join(a.puddle, 'identity.wrapped')).mode & 0o777, 0o600);
    assert.throws(() => opsInit(a.ops, a.puddle, a.wraps(), 'again'), (e) => code(e) === 'E_OPS_EXISTS');

    const now = Date.now();
    const offer = opsPair(a.ops, a.wraps().ops, now, randomBytes);
    assert.equal(statSync(join(a.ops, OPS_FILES.pending)).mode & 0o777, 0o600);
    assert.ok(!readFileSync(join(a.ops, OPS_FILES.pending), 'utf8').includes(offer.code));

    const svc = opsJoinPrepare(b.ops, b.puddle);
    // a wrong code: refused, A's members untouched, only the failure count moved; B writes nothing
    const membersBefore = readFileSync(join(a.ops, OPS_FILES.members), 'utf8');
    assert.throws(() => claimPair(a.ops, a.wraps().ops, 'AAAAAAAAAAAAAAAA', svc.pubkey, now), (e) => code(e) === 'E_PAIR_WRONG');
    assert.equal(readFileSync(join(a.ops, OPS_FILES.members), 'utf8'), membersBefore);
    assert.equal(readPending(a.ops)?.failures, 1);
    assert.equal(existsSync(b.ops), false);

    const answer = claimPair(a.ops, a.wraps().ops, offer.code, svc.pubkey, now + 1000);
    assert.deepEqual(answer.members, [init.self, svc.pubkey]);
    // the stolen code replayed: burned
    assert.throws(() => claimPair(a.ops, a.wraps().ops, offer.code, 'f'.repeat(64), now + 2000), (e) => code(e) === 'E_PAIR_USED');
    assert.deepEqual(opsStatus(a.ops)?.members, [init.self, svc.pubkey]);

    const joined = opsJoinWrite(b.ops, b.puddle, b.wraps(), svc, answer);
    assert.equal(joined.pubkey, init.pubkey);
    assert.deepEqual(opsStatus(b.ops)?.members, opsStatus(a.ops)?.members);
    assert.equal(openServicePuddle(b.puddle, b.wraps().service).pubkey, svc.pubkey);
    assert.throws(() => opsJoinWrite(b.ops, b.puddle, b.wraps(), svc, answer), (e) => code(e) === 'E_OPS_EXISTS');
    // different ciphertexts, same key
    assert.notEqual(readFileSync(join(a.ops, OPS_FILES.wrapped), 'utf8'), readFileSync(join(b.ops, OPS_FILES.wrapped), 'utf8'));
    assert.deepEqual(openOpsSeed(a.ops, a.wraps().ops).seed, openOpsSeed(b.ops, b.wraps().ops).seed);
    // B's wrap cannot open A's file
    assert.throws(() => openOpsSeed(a.ops, b.wraps().ops), (e) => code(e) === 'E_SECRETS_CORRUPT');

    // A's master key rotated (a new key file): A's copy no longer opens, B's still does
    writeFileSync(a.p.keyFile, randomBytes(32));
    assert.throws(() => openOpsSeed(a.ops, a.wraps().ops), (e) => code(e) === 'E_SECRETS_CORRUPT');
    assert.equal(openOpsSeed(b.ops, b.wraps().ops).status.pubkey, init.pubkey);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('status reads the public files only: no master key needed, the wrapped key never opened', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-puddle-'));
  try {
    const a = host(root, 'a');
    const init = opsInit(a.ops, a.puddle, a.wraps(), 'ops1');
    rmSync(a.p.dir, { recursive: true }); // no master key at all
    const s = opsStatus(a.ops);
    assert.deepEqual(s, { name: 'ops1', pubkey: init.pubkey, dir: a.ops, members: [init.self] });
    assert.equal(opsStatus(join(root, 'none')), null);
    // a tampered public file is refused naming it
    writeFileSync(join(a.ops, OPS_FILES.members), '{"v":1,"members":["nothex"]}');
    assert.throws(() => opsStatus(a.ops), (e) => code(e) === 'E_OPS_MALFORMED' && (e as Error).message.includes(OPS_FILES.members));
    assert.deepEqual(readdirSync(a.ops).sort(), [OPS_FILES.members, OPS_FILES.public, OPS_FILES.wrapped].sort());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('pair needs membership here: a host whose master key cannot open the ops key mints nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-puddle-'));
  try {
    const a = host(root, 'a');
    opsInit(a.ops, a.puddle, a.wraps(), 'ops1');
    const other = host(root, 'other');
    assert.throws(() => opsPair(a.ops, other.wraps().ops, Date.now(), randomBytes), (e) => code(e) === 'E_SECRETS_CORRUPT');
    assert.equal(readPending(a.ops), null);
    assert.throws(() => opsPair(join(root, 'none'), a.wraps().ops, Date.now(), randomBytes), (e) => code(e) === 'E_OPS_NONE');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
