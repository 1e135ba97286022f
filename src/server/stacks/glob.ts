/**
 * Hostname globs for match blocks: `*` (any run of characters, dots included), `?` (one
 * character), `[abc]`, `[a-z]`, `[!a-z]` / `[^a-z]`. Hostnames compare case-insensitively.
 */
export function compileGlob(glob: string): RegExp | { error: string } {
  if (glob === '') return { error: 'must not be empty' };
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) return { error: `unclosed "[" in "${glob}"` };
      let body = glob.slice(i + 1, end);
      let neg = '';
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = '^';
        body = body.slice(1);
      }
      if (body === '') return { error: `empty character class in "${glob}"` };
      re += `[${neg}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`, 'i');
  } catch (e) {
    return { error: `invalid pattern "${glob}": ${(e as Error).message}` };
  }
}

export function globMatches(glob: string, hostname: string): boolean {
  const re = compileGlob(glob);
  return re instanceof RegExp && re.test(hostname);
}
