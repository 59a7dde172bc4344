/**
 * The environment the local MCP server runs with: ours, minus what belongs to the tunnel.
 * The child is third-party code; it needs neither the gateway token nor the gateway's
 * signing secret, and it must not learn the tunnel's proxy credentials. The proxy itself
 * is kept (the server may need it to reach the internet), only its userinfo is removed.
 */
const TUNNEL_PREFIX = 'REVERSE_PROXY_';
const SECRETS = new Set(['JWT_SECRET_KEY']);
const PROXY_VARIABLES = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']);

export function childEnv(parentEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parentEnv)) {
    if (value === undefined) continue;
    const upper = name.toUpperCase();
    if (upper.startsWith(TUNNEL_PREFIX) || SECRETS.has(upper)) continue;
    env[name] = PROXY_VARIABLES.has(upper) ? stripUserinfo(value) : value;
  }
  return env;
}

/**
 * `http://user:pass@proxy:3128` → `http://proxy:3128`, also without a scheme. A regex
 * rather than `new URL()` keeps the value byte-for-byte otherwise (no added `/`), and
 * copes with `user:pass@host:port`, which URL would read as scheme `user:`. The last `@`
 * before the first `/` ends the userinfo, as in RFC 3986.
 */
export function stripUserinfo(proxy: string): string {
  return proxy.replace(/^(\s*(?:[a-z][a-z0-9+.-]*:\/\/)?)[^/?#]*@/i, '$1');
}
