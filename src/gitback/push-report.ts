/**
 * git-remote-gitback's part of the push path (docs/gitback.md "The push path"): it reads
 * the push options git sends receive-pack (`git push -o replicas=N`), and once the
 * receive is over it asks the daemon for the push's manifest, signs it with the user's
 * puddle key through the session helper, hands it back and prints the replica report.
 */
import type { Socket } from 'node:net';
import { VigoError, isVigoError } from '../platform/errors.js';
import { signManifest, type UnsignedManifest } from '../wire/gitback-manifest.js';
import type { Signer } from '../trust/index.js';
import { encodeLine, MAX_REPLICAS_WANTED, parseResponse, type DaemonRequest, type DaemonResponse } from './daemon/protocol.js';
import { LineFramer } from '../wire/lines.js';

/** Most bytes of git's request read for push options (commands and options come first). */
const MAX_SNIFF_BYTES = 1024 * 1024;

/**
 * Reads, without changing them, the pkt-lines git sends receive-pack: the command list up
 * to its flush, then (when the commands asked for `push-options`) the options up to the
 * next flush. Everything after (the pack) is not looked at.
 */
export class PushOptionSniffer {
  private buf = Buffer.alloc(0);
  private seen = 0;
  private state: 'commands' | 'options' | 'done' = 'commands';
  private wantsOptions = false;
  readonly options: string[] = [];

  feed(chunk: Buffer | string): void {
    if (this.state === 'done') return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.seen += b.length;
    this.buf = Buffer.concat([this.buf, b]);
    while (this.state !== 'done' && this.buf.length >= 4) {
      const len = Number.parseInt(this.buf.subarray(0, 4).toString('latin1'), 16);
      if (!Number.isInteger(len) || (len > 0 && len < 4)) return this.stop();
      if (len === 0) {
        this.buf = this.buf.subarray(4);
        this.state = this.state === 'commands' && this.wantsOptions ? 'options' : 'done';
        continue;
      }
      if (this.buf.length < len) break;
      const payload = this.buf.subarray(4, len).toString('utf8').replace(/\n$/, '');
      this.buf = this.buf.subarray(len);
      if (this.state === 'commands') {
        const nul = payload.indexOf('\0');
        if (nul >= 0 && payload.slice(nul + 1).split(' ').includes('push-options')) this.wantsOptions = true;
      } else this.options.push(payload);
    }
    if (this.seen > MAX_SNIFF_BYTES) this.stop();
  }

  private stop(): void {
    this.state = 'done';
    this.buf = Buffer.alloc(0);
  }

  /** `-o replicas=N` (the last one wins), null when not given; E_USAGE for a bad N. */
  replicas(): number | null {
    let n: number | null = null;
    for (const o of this.options) {
      const m = /^replicas=(.*)$/.exec(o);
      if (m === null) continue;
      const v = Number(m[1]);
      if (!/^[0-9]+$/.test(m[1]!) || !Number.isInteger(v) || v < 1 || v > MAX_REPLICAS_WANTED) {
        throw new VigoError('E_USAGE', `-o replicas=${m[1]}: expected a number of peers from 1 to ${MAX_REPLICAS_WANTED}`);
      }
      n = v;
    }
    return n;
  }
}

export interface ReportIo {
  stderr: NodeJS.WritableStream;
  /** progress lines only on a terminal */
  stderrIsTTY: boolean;
  /** the pusher's puddle key, through the session helper */
  signer(): Promise<Signer>;
  /** told when the change was not replicated (the line says why too): root's `replicate` asks again */
  notReplicated?: (reason: string) => void;
  /** opens one request on the daemon socket (remote-helper.ts daemonRequest) */
  request(line: Parameters<typeof encodeLine>[0]): Promise<{ sock: Socket; resp: DaemonResponse; rest: Buffer }>;
}

/** The daemon's answer lines on one socket, in order (several may arrive in one read). */
class AnswerLines {
  private readonly framer = new LineFramer(64 * 1024, "the helper daemon's replica report");
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(sock: Socket, rest: Buffer) {
    this.framer.push(rest);
    sock.on('data', (c: Buffer) => {
      this.framer.push(c);
      this.wake?.();
    });
    // the daemon ends its side after its last line (the socket is half-open: 'close' waits for ours)
    for (const ev of ['end', 'close']) {
      sock.once(ev, () => {
        this.ended = true;
        this.wake?.();
      });
    }
    sock.resume();
  }

  async next(timeoutMs: number): Promise<DaemonResponse> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const line = this.framer.next();
      if (line !== null) return parseResponse(line);
      if (this.ended) throw new VigoError('E_DAEMON_PROTOCOL', 'the helper daemon closed the connection before its replica report');
      const left = until - Date.now();
      if (left <= 0) throw new VigoError('E_DAEMON_SILENT', `the helper daemon sent no replica report within ${Math.round(timeoutMs / 1000)} s`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
  }
}

/** How long the report waits for the daemon's final line beyond its own bound. */
const REPORT_SLACK_MS = 15_000;

function plural(n: number): string {
  return n === 1 ? 'peer' : 'peers';
}

/**
 * After the receive: the manifest exchange and the report. Returns the helper's exit code:
 * 0, or 1 when `-o replicas=N` was asked and fewer acknowledged (the push itself landed).
 */
export async function reportPush(io: ReportIo, pushId: string, wanted: number | null): Promise<number> {
  return reportSigned(io, { v: 1, op: 'push-manifest', push_id: pushId }, wanted);
}

/**
 * The exchange after `first` (a push's `push-manifest`, or root's `replicate`): the
 * daemon's unsigned manifest, signed by io's signer and handed back, then the report.
 */
export async function reportSigned(io: ReportIo, first: Extract<DaemonRequest, { op: 'push-manifest' | 'replicate' }>, wanted: number | null): Promise<number> {
  const short = wanted === null ? 0 : 1;
  const notReplicated = (reason: string): number => {
    io.notReplicated?.(reason);
    io.stderr.write(`gitback: not replicated: ${reason}\n`);
    if (wanted !== null) io.stderr.write(`gitback: fewer than the ${wanted} ${plural(wanted)} asked for (-o replicas=${wanted}); the push landed on this envoy only\n`);
    return short;
  };
  let sock: Socket | null = null;
  try {
    const opened = await io.request(first);
    sock = opened.sock;
    if (!opened.resp.ok) return notReplicated(`${opened.resp.message ?? 'refused'} (${opened.resp.code ?? 'E_REFUSED'})`);
    const st = opened.resp.status as { manifest?: UnsignedManifest; replicated?: boolean; reason?: string; quiet?: boolean } | undefined;
    if (st?.manifest === undefined) {
      // nothing worth saying (the push changed no ref, no swarm here): nothing was asked of the peers either
      if (st?.quiet === true) return 0;
      return notReplicated(st?.reason ?? 'the daemon gave no manifest');
    }
    let signed;
    try {
      signed = await signManifest(st.manifest, await io.signer());
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return notReplicated(isVigoError(e) && e.code === 'E_PUDDLE_LOCKED' ? `your puddle is locked, so the push could not be signed (${why}); run \`vigo swarm puddle unlock\`, and your next push carries this change along` : `the push could not be signed: ${why}`);
    }
    const lines = new AnswerLines(sock, opened.rest);
    sock.write(encodeLine({ v: 1, op: 'push-signed', manifest: signed, replicas: wanted }));
    const t0 = Date.now();
    let shown = false;
    const show = (acked: number, of: number) => {
      if (!io.stderrIsTTY || Date.now() - t0 < 1000) return;
      shown = true;
      io.stderr.write(`\rgitback: replicating: ${acked} of ${of} ${plural(of)} (${Math.round((Date.now() - t0) / 1000)} s)\x1b[K`);
    };
    let last = { acked: 0, of: 0 };
    const ticker = setInterval(() => show(last.acked, last.of), 1000);
    try {
      for (;;) {
        const a = await lines.next((wanted === null ? 10_000 : 60_000) + REPORT_SLACK_MS);
        if (!a.ok) return notReplicated(`${a.message ?? 'refused'} (${a.code ?? 'E_REFUSED'})`);
        const s = a.status as { acked: number; of: number; final: boolean; within_s?: number };
        last = s;
        if (!s.final) {
          show(s.acked, s.of);
          continue;
        }
        if (shown) io.stderr.write('\r\x1b[K');
        io.stderr.write(`gitback: replicated to ${s.acked} of ${s.of} ${plural(s.of)}\n`);
        if (wanted !== null && s.acked < wanted) {
          const why = s.of < wanted ? `only ${s.of} ${plural(s.of)} known for the project` : `within ${s.within_s ?? '?'} s (gitback.replicas_wait_s)`;
          io.stderr.write(`gitback: fewer than the ${wanted} ${plural(wanted)} asked for (-o replicas=${wanted}): ${why}; the push landed on this envoy and replication goes on in the background\n`);
          return 1;
        }
        return 0;
      }
    } finally {
      clearInterval(ticker);
    }
  } catch (e) {
    return notReplicated(e instanceof Error ? e.message : String(e));
  } finally {
    sock?.destroy();
  }
}
