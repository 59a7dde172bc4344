/**
 * Secrets never reach a log line, an error message or a URL we print (BRIEF, quality bar):
 * tokens and URL credentials are masked here, for the logger (every line) and for the
 * call sites that show a URL (a proxy, the gateway).
 */

/** Replace `user:pass@` in any URL-looking substring, and Bearer tokens, with placeholders. */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::[^\s/@]*)?@/gi, (_m, scheme: string, user: string) =>
      `${scheme}${user ? '***' : ''}:***@`,
    )
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1***')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '***jwt***');
}

/** `scheme://user:pass@host` → `scheme://***:***@host`; anything unparsable is returned masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
}
