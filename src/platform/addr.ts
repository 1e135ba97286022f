/** `::ffff:10.77.0.11` (how a dual-stack socket sees an IPv4 peer) → `10.77.0.11`; any other address as it is. */
export function plainAddr(addr: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(addr);
  return m ? (m[1] as string) : addr;
}
