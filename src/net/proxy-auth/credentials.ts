/**
 * What proxy authentication knows of the proxy and of us: the credentials (from the proxy
 * URL or REVERSE_PROXY_PROXY_USER/_PASSWORD), and the proxy's address and printable name
 * (net/proxy.ts's ProxyChoice carries both).
 */

/** User (`DOMAIN\\user` or `user@domain` for NTLM) and password for proxy authentication. */
export interface ProxyCredentials {
  user: string;
  password: string;
}

/** The proxy being authenticated to. */
export interface AuthProxy {
  /** Proxy URL without userinfo. */
  url: URL;
  credentials?: ProxyCredentials;
  /** The proxy URL with userinfo masked: for messages. */
  redacted: string;
}

/** Basic token of a user and password (curl sends `user:` when there is no password). */
export function basicToken(c: ProxyCredentials): string {
  return `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;
}
