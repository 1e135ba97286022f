/**
 * The Unix-socket line server both key helpers share (the user session helper and the
 * vigosrv service-account helper, src/spanner/ops-helper.ts): every connection is checked
 * with SO_PEERCRED and only `allowUid` is served; requests are JSON lines (at most
 * `maxLineBytes`), each answered by one line; an idle connection is dropped after 30 s.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { isVigoError } from '../../platform/errors.js';
import { peerCred } from '../../platform/peercred.js';
import { LineFramer } from '../../wire/lines.js';

export interface LineServerOptions {
  allowUid: number;
  /** names the service in the refusal log line: "session", "service-account helper" */
  what: string;
  maxLineBytes: number;
  log: (msg: string) => void;
  /** the refusal sent to another uid */
  refused: (uid: number) => string;
  /** one request line → the answer; `after` runs once the answer is written */
  handle: (line: string, peer: string) => Promise<{ answer: object; after?: () => void }>;
}

export function lineServer(opts: LineServerOptions): Server {
  const send = (sock: Socket, a: object, after?: () => void) => {
    sock.write(JSON.stringify(a) + '\n', () => after?.());
  };
  return createServer((sock: Socket) => {
    sock.on('error', () => sock.destroy()); // a peer that hangs up early is no reason to fall over
    let cred;
    try {
      cred = peerCred(sock);
    } catch (e) {
      opts.log(`refused a connection: cannot read its credentials (${(e as Error).message})`);
      sock.destroy();
      return;
    }
    if (cred.uid !== opts.allowUid) {
      opts.log(`refused connection from uid ${cred.uid} pid ${cred.pid}: only uid ${opts.allowUid} may use this ${opts.what}`);
      sock.end(JSON.stringify({ ok: false, code: 'E_PEER_REFUSED', message: opts.refused(cred.uid) }) + '\n');
      return;
    }
    const peer = `uid ${cred.uid} pid ${cred.pid}`;
    sock.setTimeout(30_000, () => sock.destroy());
    const lines = new LineFramer(opts.maxLineBytes, 'request');
    let refused = false;
    sock.on('data', (chunk: Buffer) => {
      if (refused) return;
      lines.push(chunk);
      try {
        for (let line = lines.next(); line !== null; line = lines.next()) {
          void opts.handle(line, peer).then(
            (r) => send(sock, r.answer, r.after),
            (e: unknown) => send(sock, { ok: false, code: isVigoError(e) ? e.code : 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) }),
          );
        }
      } catch (e) {
        refused = true;
        lines.flush();
        send(sock, { ok: false, code: 'E_OVERSIZE', message: isVigoError(e) ? e.message : String(e) }, () => sock.destroy());
      }
    });
  });
}
