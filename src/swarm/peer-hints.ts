/**
 * The server's peer hints on this envoy (issue 14 item 5): `/var/lib/vigo/swarm/peer-hints.json`,
 * written by the agent from check-in (src/wire/swarm-fleet.ts PeerHints, §22), read here
 * into ProjectPeers' third discovery layer. Root-owned only, parsed strictly; a file that
 * fails keeps the hints last read (a hint is only a nomination, so a stale one costs a
 * refused call, never data), and the failure is logged once per distinct error.
 */
import { readRootOwnedFile } from '../platform/root-file.js';
import { MAX_FLEET_FILE_BYTES, parsePeerHints, type PeerHints } from '../wire/swarm-fleet.js';
import type { Hex } from '../trust/index.js';
import { plainAddr } from '../platform/addr.js';
import type { HintEntry, ProjectPeers } from './peers.js';


/** The contract's hints as ProjectPeers takes them: each hinted envoy at its address, the default peer port. */
export function hintEntries(h: PeerHints): Record<Hex, HintEntry[]> {
  const out: Record<Hex, HintEntry[]> = {};
  for (const [pid, list] of Object.entries(h.projects)) out[pid] = list.map((x) => ({ envoyId: x.envoy_id, host: plainAddr(x.addr) }));
  return out;
}

export class PeerHintsReader {
  private sha: string | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly file: string,
    private readonly peers: ProjectPeers,
    private readonly log: (m: string) => void,
    private readonly rootUid = 0,
  ) {}

  /** Reads the file; returns whether the hints changed (then the caller pokes replication). */
  load(): boolean {
    try {
      const f = readRootOwnedFile(this.file, { what: 'the peer hints', maxBytes: MAX_FLEET_FILE_BYTES, rootUid: this.rootUid });
      this.lastError = null;
      if (f === null) {
        if (this.sha === null) return false;
        this.sha = null;
        this.peers.setPeerHints({});
        this.log(`swarm: ${this.file} is gone; no server peer hints`);
        return true;
      }
      const h = parsePeerHints(f.bytes, this.file);
      if (h.sha256 === this.sha) return false;
      this.sha = h.sha256;
      const cut = this.peers.setPeerHints(hintEntries(h));
      const n = Object.values(h.projects).reduce((a, l) => a + l.length, 0);
      this.log(`swarm: server peer hints: ${n} hint(s) for ${Object.keys(h.projects).length} project(s)${cut > 0 ? `, ${cut} past the bounds dropped` : ''}`);
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (msg !== this.lastError) this.log(`swarm: ${msg}; keeping the hints last read`);
      this.lastError = msg;
      return false;
    }
  }
}
