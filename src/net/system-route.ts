/**
 * OS proxy settings → the route model of src/net/: a PAC URL goes to the PAC support
 * (src/net/pac.ts, with its fail-over list); a manual proxy becomes one ProxyChoice unless
 * the gateway is on the bypass list (bypass.ts); otherwise DIRECT. The decision is made
 * once per gateway URL at start, as for HTTPS_PROXY/NO_PROXY.
 *
 * OS settings are not the operator's word for this run: one that this client cannot use
 * (a malformed proxy, a PAC URL that is not http(s)/file) is a WARNING and the next
 * setting applies, never a refusal to start.
 */
import { errorMessage } from '../errors.js';
import { noProxyMatches, parseProxy, targetPort, type ProxyChoice } from './proxy.js';
import { bypassMatches } from './system-bypass.js';
import type { SystemProxySettings } from './system-proxy/settings.js';

export type SystemRoute = { kind: 'pac'; location: string } | { kind: 'proxy'; proxy: ProxyChoice } | { kind: 'direct' };

/** Why a PAC URL from the OS cannot be used (as --proxy-pac's rules: config/url-options.ts), or undefined. */
function pacProblem(location: string): string | undefined {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return 'is not a valid URL';
  }
  if (!['http:', 'https:', 'file:'].includes(url.protocol)) return `${url.protocol}//${url.host}… is not an http://, https:// or file:// URL`;
  // Never echoed: it is fetched without credentials, and they would end up in logs.
  if (url.username !== '' || url.password !== '') return `${url.protocol}//${url.host}… carries credentials, which a PAC URL may not`;
  return undefined;
}

export interface SystemRouteDecision {
  route: SystemRoute;
  /** For the one INFO line that says where the proxy came from. */
  description: string;
  warnings: string[];
}

/**
 * `noProxy`: NO_PROXY from the environment, when set; it adds to the OS bypass list
 * (a NO_PROXY alone configures no proxy, so the system settings still apply with it).
 */
export function systemRoute(settings: SystemProxySettings, gateway: string, noProxy?: string): SystemRouteDecision {
  const warnings = settings.unsupported.map((u) => `${settings.origin}: ${u} is not supported by this client; ignored`);
  const from = `(from ${settings.origin})`;
  if (settings.pac) {
    const problem = pacProblem(settings.pac);
    if (!problem) return { route: { kind: 'pac', location: settings.pac }, description: `PAC file ${settings.pac} ${from}`, warnings };
    warnings.push(`${settings.origin}: the PAC URL ${problem}; ignored`);
  }
  const url = new URL(gateway);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const value = secure ? settings.https : settings.http;
  if (!value) return { route: { kind: 'direct' }, description: `direct: no proxy for ${secure ? 'https' : 'http'} ${from}`, warnings };
  const port = targetPort(url);
  if (bypassMatches(settings.bypass, url.hostname, port)) {
    return { route: { kind: 'direct' }, description: `direct: ${url.host} is on the bypass list ${from}`, warnings };
  }
  if (noProxy && noProxyMatches(noProxy, url.hostname, port)) {
    return { route: { kind: 'direct' }, description: `direct: ${url.host} matches NO_PROXY`, warnings };
  }
  let proxy: ProxyChoice;
  try {
    proxy = parseProxy(value, settings.origin);
  } catch (err) {
    warnings.push(`${errorMessage(err)}; connecting directly`);
    return { route: { kind: 'direct' }, description: `direct: the proxy ${from} is unusable`, warnings };
  }
  return { route: { kind: 'proxy', proxy }, description: `proxy ${proxy.redacted} for ${url.host} ${from}`, warnings };
}
