// A hostile (or merely raw) local client of the gitback helper daemon, run as a test user:
// `node raw-client.js '<json plan>'`. It opens the planned connections one after another,
// sends each its request line (or nothing), optionally trickles bytes once the daemon
// answered, and prints, per connection, what came back and when it closed (ms since start).
import { createConnection, type Socket } from 'node:net';

export interface RawConn {
  /** the request line's object; null: send nothing (an idle connection) */
  line: unknown;
  /** after the first answer: write `prefix`, then one byte every `everyMs` */
  trickle?: { prefix: string; everyMs: number };
}

export interface RawPlan {
  sock: string;
  conns: RawConn[];
  /** give up (and report) after this long (or at SIGTERM) */
  holdMs: number;
  /** open the planned connections this many times over (a flood, without a huge argv) */
  repeat?: number;
  /** open the next connection when this one closed (default: as soon as it connected) */
  sequential?: boolean;
  /** report only how many answers carried each code (for floods of thousands) */
  summary?: boolean;
}

export interface RawResult {
  data: string;
  connectedAt: number;
  firstDataAt: number | null;
  closedAt: number | null;
}

function main(plan: RawPlan): void {
  const t0 = Date.now();
  const at = () => Date.now() - t0;
  const results: RawResult[] = [];
  const sockets: Socket[] = [];
  let open = 0;
  const finish = () => {
    if (plan.summary) {
      const codes: Record<string, number> = {};
      for (const r of results) {
        const code = /"code":"([A-Z_]+)"/.exec(r.data)?.[1] ?? (r.data.startsWith('{"ok":true') ? 'ok' : r.data === '' ? 'none' : 'other');
        codes[code] = (codes[code] ?? 0) + 1;
      }
      process.stdout.write(JSON.stringify({ connections: results.length, codes }) + '\n');
    } else process.stdout.write(JSON.stringify(results) + '\n');
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  const hold = setTimeout(finish, plan.holdMs);
  process.once('SIGTERM', finish);
  const total = plan.conns.length * (plan.repeat ?? 1);
  const openNext = (i: number) => {
    const c = i < total ? plan.conns[i % plan.conns.length] : undefined;
    if (c === undefined) return;
    const r: RawResult = { data: '', connectedAt: -1, firstDataAt: null, closedAt: null };
    results.push(r);
    const s = createConnection({ path: plan.sock, allowHalfOpen: true });
    sockets.push(s);
    open++;
    let timer: NodeJS.Timeout | null = null;
    s.on('connect', () => {
      r.connectedAt = at();
      if (c.line !== null) s.write(JSON.stringify(c.line) + '\n');
      if (!plan.sequential) openNext(i + 1);
    });
    s.on('data', (d: Buffer) => {
      if (r.firstDataAt === null) {
        r.firstDataAt = at();
        if (c.trickle) {
          const t = c.trickle;
          s.write(t.prefix);
          timer = setInterval(() => s.write('a'), t.everyMs);
        }
      }
      if (r.data.length < (plan.summary ? 200 : 256 * 1024)) r.data += d.toString('latin1');
    });
    s.on('end', () => s.end());
    s.on('error', () => undefined);
    s.on('close', () => {
      if (timer) clearInterval(timer);
      r.closedAt = at();
      if (r.connectedAt < 0 || plan.sequential) openNext(i + 1);
      if (--open === 0 && results.length === total) {
        clearTimeout(hold);
        finish();
      }
    });
  };
  openNext(0);
}

if (process.argv[2] !== undefined) main(JSON.parse(process.argv[2]) as RawPlan);
