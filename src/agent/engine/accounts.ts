/**
 * User and group names → numeric ids, through the host's name service (getent), so
 * LDAP/sssd accounts resolve like local ones. Accounts are host-wide: fsRoot does not
 * apply to them. Cached for the length of one run.
 */
import { execFileSync } from 'node:child_process';

export class Accounts {
  private readonly cache = new Map<string, number | null>();

  private lookup(db: 'passwd' | 'group', name: string): number | null {
    if (/^[0-9]+$/.test(name)) return Number(name);
    const key = `${db}:${name}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let id: number | null = null;
    try {
      const line = execFileSync('getent', [db, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const field = line.split('\n')[0]?.split(':')[2];
      id = field !== undefined && /^[0-9]+$/.test(field) ? Number(field) : null;
    } catch {
      id = null; // getent exits 2 when the name is unknown
    }
    this.cache.set(key, id);
    return id;
  }

  uid(name: string): number {
    const id = this.lookup('passwd', name);
    if (id === null) throw new Error(`unknown user "${name}" on this envoy`);
    return id;
  }

  gid(name: string): number {
    const id = this.lookup('group', name);
    if (id === null) throw new Error(`unknown group "${name}" on this envoy`);
    return id;
  }

  userExists(name: string): boolean {
    this.cache.delete(`passwd:${name}`);
    return this.lookup('passwd', name) !== null;
  }
}
