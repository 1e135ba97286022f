/**
 * Probes for tests of the netns bed itself (test/swarm/netns*.test.ts): a TCP server that
 * answers `hello from <name>`, and a client with a deadline that says whether it got there.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { NetnsBed } from './netns.js';

/** A node script run inside a host: `node -e`, one JSON line out. */
export const nodeScript = (code: string): string[] => [process.execPath, '--input-type=module', '-e', code];

/** TCP: listen on port, answer each connection with `hello from <name>`, print ready. */
export const tcpServer = (name: string, port: number): string[] =>
  nodeScript(`import net from 'node:net'; net.createServer((s) => s.end('hello from ${name}')).listen(${port}, () => console.log('ready'));`);

/** TCP: connect with a deadline, print {ok, text} or {ok:false, error}. */
export const tcpClient = (addr: string, port: number, deadlineMs: number): string[] =>
  nodeScript(`import net from 'node:net';
const s = net.connect(${port}, '${addr}'); let t = '';
const timer = setTimeout(() => { console.log(JSON.stringify({ ok: false, error: 'deadline' })); process.exit(0); }, ${deadlineMs});
s.on('data', (d) => (t += d)); s.on('end', () => { clearTimeout(timer); console.log(JSON.stringify({ ok: true, text: t })); });
s.on('error', (e) => { clearTimeout(timer); console.log(JSON.stringify({ ok: false, error: e.code })); });`);

/** Start tcpServer in a host and wait until it listens. */
export async function serveTcp(bed: NetnsBed, host: string, port: number): Promise<ChildProcess> {
  const p = bed.spawn(host, tcpServer(host, port));
  await new Promise<void>((resolve, reject) => {
    p.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    p.once('exit', (code) => reject(new Error(`tcp server on ${host} exited ${String(code)}`)));
  });
  return p;
}

/** Whether `from` reaches `to`'s tcpServer on port within the deadline. */
export async function reachTcp(bed: NetnsBed, from: string, to: string, port: number, deadlineMs = 5000): Promise<{ ok: boolean; text?: string; error?: string }> {
  const r = await bed.exec(from, tcpClient(bed.host(to).addr, port, deadlineMs));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { ok: boolean; text?: string; error?: string };
}
