/**
 * Where the proxy for a tunnel comes from, decided once at start and logged once (INFO
 * `proxy_source`). Strongest first:
 *   1. `--proxy <url>` (REVERSE_PROXY_PROXY, config `proxy`);
 *      `--proxy system`: the OS settings (system-proxy/), whatever the environment says;
 *   2. `--proxy-pac` (REVERSE_PROXY_PROXY_PAC, config `proxy_pac`);
 *   3. HTTPS_PROXY / HTTP_PROXY / ALL_PROXY with NO_PROXY (src/net/proxy.ts);
 *   4. nothing of the above set at all: the OS settings, as if `--proxy system` were given.
 * "The OS settings" are the Windows Internet Settings or macOS's `scutil --proxy`; on Linux
 * (and any other OS) the environment, which in case 4 sets no proxy: so nothing changes
 * there. A query that fails or is slow (bounded, system-proxy/read.ts) is a WARNING and a
 * direct connection, never a stopped start.
 */
import { redact } from '../observability/redact.js';
import { noProxyFromEnv, proxyEnvironmentSet, resolveProxy } from './proxy.js';
import { readSystemProxy, type SystemProxyResult } from './system-proxy/read.js';
import { systemRoute, type SystemRoute } from './system-route.js';

export const SYSTEM_PROXY = 'system';

export interface ProxySourceInput {
  gateway: string;
  /** A proxy URL, or `system`. */
  proxy?: string;
  proxyPac?: string;
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Reads the OS settings (tests inject it); default: the OS command, once per process. */
  read?: (platform: NodeJS.Platform) => Promise<SystemProxyResult>;
}

/** What NetworkPath is given, and what to log. */
export interface ProxySource {
  proxy?: string;
  proxyPac?: string;
  system?: SystemRoute;
  description: string;
  warnings: string[];
}

// One query per process: several servers (a servers: list) share what the OS said.
let cachedRead: { platform: NodeJS.Platform; result: Promise<SystemProxyResult> } | undefined;

function readOnce(platform: NodeJS.Platform): Promise<SystemProxyResult> {
  if (cachedRead?.platform !== platform) cachedRead = { platform, result: readSystemProxy({ platform }) };
  return cachedRead.result;
}

function describeEnvironment(gateway: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string {
  const choice = resolveProxy(gateway, undefined, env, platform);
  if (choice) return `proxy ${choice.redacted} (from ${choice.source})`;
  return proxyEnvironmentSet(env, platform) ? `direct (NO_PROXY matches ${new URL(gateway).host})` : 'direct (no proxy variable set)';
}

export async function resolveProxySource(i: ProxySourceInput): Promise<ProxySource> {
  const platform = i.platform ?? process.platform;
  const explicitSystem = i.proxy?.trim().toLowerCase() === SYSTEM_PROXY;
  if (i.proxy !== undefined && i.proxy.trim() !== '' && !explicitSystem) {
    return { proxy: i.proxy, description: `proxy ${redact(i.proxy.trim())} (from --proxy)`, warnings: [] };
  }
  if (!explicitSystem && i.proxyPac) return { proxyPac: i.proxyPac, description: `PAC file ${i.proxyPac} (from --proxy-pac)`, warnings: [] };
  if (!explicitSystem && proxyEnvironmentSet(i.env, platform)) {
    return { description: `environment: ${describeEnvironment(i.gateway, i.env, platform)}`, warnings: [] };
  }
  const why = explicitSystem ? 'system proxy settings (--proxy system)' : 'system proxy settings (no proxy configured: the default)';
  const result = await (i.read ?? readOnce)(platform);
  switch (result.kind) {
    case 'environment':
      return { description: `${why}: on ${platform}, the environment: ${describeEnvironment(i.gateway, i.env, platform)}`, warnings: [] };
    case 'failed':
      return {
        system: { kind: 'direct' },
        description: `${why}: unreadable, connecting directly`,
        warnings: [`cannot read the system proxy settings (${result.reason}); connecting directly`],
      };
    case 'settings': {
      const decision = systemRoute(result.settings, i.gateway, noProxyFromEnv(i.env, platform));
      return { system: decision.route, description: `${why}: ${decision.description}`, warnings: decision.warnings };
    }
  }
}
