// An unauthenticated REST flood, run as its own process so its CPU is not the probe's:
//   node rest-flood.js URL CLIENTS SECONDS BYTES [SOURCE_ADDR_PREFIX]
// Each client posts BYTES of nested `[` to /api/v1/enroll back to back (keep-alive, a new
// connection when the server closes one). With a SOURCE_ADDR_PREFIX like 127.0.1. client i
// connects from 127.0.1.(i+1), so each is its own source address. Prints one JSON line of
// status counts at the end.
import { request, Agent } from 'node:https';

const [url = '', clients = '8', seconds = '10', bytes = String(1 << 20), prefix] = process.argv.slice(2);
const body = Buffer.alloc(Number(bytes), '[');
const end = Date.now() + Number(seconds) * 1000;
const counts: Record<string, number> = {};
const bump = (k: string) => void (counts[k] = (counts[k] ?? 0) + 1);

async function client(i: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false, ...(prefix ? { localAddress: `${prefix}${i + 1}` } : {}) });
  while (Date.now() < end) {
    await new Promise<void>((resolve) => {
      const req = request(`${url}/api/v1/enroll`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length }, timeout: 30_000 }, (res) => {
        bump(String(res.statusCode));
        res.resume();
        res.on('end', resolve);
        res.on('error', () => resolve());
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        bump(e.code ?? 'error');
        setTimeout(resolve, 5);
      });
      req.on('timeout', () => req.destroy());
      req.end(body);
    });
  }
  agent.destroy();
}

await Promise.all(Array.from({ length: Number(clients) }, (_, i) => client(i)));
process.stdout.write(JSON.stringify(counts) + '\n');
