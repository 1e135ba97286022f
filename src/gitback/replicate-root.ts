/**
 * Root's `replicate` (docs/spanner.md "How a file:// push reaches the other bolts"): a
 * push written straight into a bare repo (root's `git push file://…` into the stacks
 * project) never passes the helper daemon's receive, so nothing hands it to replication.
 * This asks the daemon, as uid 0, to diff the repo against the tips replication recorded,
 * signs the manifest it answers with `signer` (the service-account puddle's key, which stays
 * in its helper), and reads the replica report. Asking again when nothing moved is a no-op.
 */
import { Writable } from 'node:stream';
import type { Signer } from '../trust/index.js';
import { daemonRequest } from './remote-helper.js';
import { reportSigned } from './push-report.js';

export interface ReplicateOutcome {
  /** false: the change is not replicated yet (the lines say why); ask again later */
  ok: boolean;
  /** the report, as `git push` would print it (`gitback: replicated to 2 of 2 peers`); empty: nothing moved */
  lines: string[];
}

export async function replicateFilePush(socketPath: string, projectId: string, signer: () => Promise<Signer>, opts: { timeoutMs: number }): Promise<ReplicateOutcome> {
  const lines: string[] = [];
  let partial = '';
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      const all = (partial + chunk.toString('utf8')).split('\n');
      partial = all.pop() ?? '';
      for (const l of all) if (l.trim() !== '') lines.push(l.replace(/^.*\r/, ''));
      done();
    },
  });
  let replicated = true;
  const io = { stderr, stderrIsTTY: false, signer, notReplicated: () => void (replicated = false), request: (line: Parameters<typeof daemonRequest>[1]) => daemonRequest(socketPath, line, { timeoutMs: opts.timeoutMs }) };
  const code = await reportSigned(io, { v: 1, op: 'replicate', project_id: projectId }, null);
  if (partial.trim() !== '') lines.push(partial);
  return { ok: code === 0 && replicated, lines };
}
