/**
 * DNS-rebinding protection for the MCP endpoint (MCP spec, Streamable HTTP, "Security
 * Warning": servers MUST validate the Origin header). A browser page on evil.example whose
 * name is rebound to 127.0.0.1 sends `Origin: http://evil.example` — and a matching Host
 * header, which is why "same host" is NOT a safe rule and is not used here.
 *
 * - No Origin header: allowed (not a browser: SDK clients, curl, agents).
 * - Listed in `--allowed-origins` (exact scheme://host[:port]), or the list holds `*`: allowed.
 * - Gateway bound to a loopback address and the Origin is a loopback one: allowed
 *   (a local browser-based inspector talking to a local gateway).
 * - Anything else, including `Origin: null`: refused with 403.
 */
import { isLoopbackHost as isLoopback } from '../../config/loopback.js';

export type OriginCheck = (origin: string | undefined) => boolean;

export function createOriginCheck(allowedOrigins: readonly string[], listenHost: string): OriginCheck {
  const any = allowedOrigins.includes('*');
  const allowed = new Set(allowedOrigins.filter((o) => o !== '*').map(normalize).filter((o): o is string => o !== undefined));
  const loopbackBound = isLoopback(listenHost);
  return (origin) => {
    if (origin === undefined) return true;
    if (any) return true;
    const o = normalize(origin);
    if (o === undefined) return false;
    if (allowed.has(o)) return true;
    return loopbackBound && isLoopback(new URL(o).hostname);
  };
}

/** `scheme://host[:port]` as the URL parser spells it (default ports dropped, lower case), or undefined. */
function normalize(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    return u.origin === 'null' ? undefined : u.origin;
  } catch {
    return undefined;
  }
}
