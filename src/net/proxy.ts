/**
 * Which HTTP proxy (if any) carries the traffic to the gateway, decided once per tunnel
 * with curl's rules, because that is what operators already test their environment with:
 * - `--proxy` wins over the environment, and NO_PROXY is ignored then (the operator
 *   named the proxy for this very connection);
 * - otherwise `https_proxy`/`HTTPS_PROXY` for https/wss gateways, `http_proxy`/`HTTP_PROXY`
 *   for http/ws ones, `all_proxy`/`ALL_PROXY` as a last resort; the lower-case spelling
 *   wins when both are set; an empty value counts as unset;
 * - NO_PROXY/no_proxy: entries separated by commas or spaces; `*` matches every host;
 *   `example.com` and `.example.com` both match example.com and any subdomain; an entry
 *   may carry `:port`; IPv4/IPv6 literals and CIDR ranges match literal addresses only
 *   (nothing is resolved). There is no implicit loopback bypass: `localhost` goes through
 *   the proxy unless NO_PROXY says otherwise (curl does the same).
 * Credentials come from the proxy URL's percent-encoded userinfo (or, for any proxy,
 * REVERSE_PROXY_PROXY_USER/_PASSWORD: withCredentials). They are decoded here and removed
 * from the URL, so no URL we keep or print carries them. Which scheme uses them (Basic,
 * NTLM, Negotiate) is decided by the proxy's 407 challenge (src/net/proxy-auth/).
 */
import { BlockList, isIP } from 'node:net';
import { envEntry } from '../env-lookup.js';
import { ConfigError } from '../errors.js';
import { redactUrl } from '../observability/redact.js';
import { basicToken, type ProxyCredentials } from './proxy-auth/credentials.js';

export interface ProxyChoice {
  /** Proxy URL without userinfo (safe to print, but prefer `redacted`). */
  url: URL;
  /** `Basic …` Proxy-Authorization value, when credentials are known. */
  token?: string;
  credentials?: ProxyCredentials;
  /** The proxy URL as given, with userinfo masked: for logs and error messages. */
  redacted: string;
  /** Where it came from: `--proxy`, `https_proxy`, `HTTPS_PROXY`, ... */
  source: string;
}

const PROXY_SCHEMES = new Set(['http:', 'https:']);

/** Hostname without IPv6 brackets or a trailing dot, lower case. */
function normalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' || protocol === 'wss:' ? 443 : 80;
}

/** Split one NO_PROXY entry into host part and optional port (IPv6 needs brackets for a port). */
function splitEntry(entry: string): { host: string; port?: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] ? { port: Number(bracketed[2]) } : {}) };
  // More than one colon and no brackets: a bare IPv6 address or range, never a port.
  if ((entry.match(/:/g) ?? []).length > 1) return { host: entry };
  const m = /^(.*):(\d+)$/.exec(entry);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: entry };
}

function ipMatches(pattern: string, ip: string): boolean {
  const [addr, prefixText] = pattern.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || family !== isIP(ip)) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  if (prefixText === undefined) {
    list.addAddress(addr!, type);
  } else {
    const prefix = Number(prefixText);
    if (!/^\d+$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) return false;
    list.addSubnet(addr!, prefix, type);
  }
  return list.check(ip, type);
}

/** curl's NO_PROXY matching (see the file comment). `host` may carry IPv6 brackets. */
export function noProxyMatches(noProxy: string, host: string, port: number): boolean {
  const name = normalHost(host);
  const nameIsIp = isIP(name) !== 0;
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const parts = splitEntry(entry);
    if (parts.port !== undefined && parts.port !== port) continue;
    const pattern = normalHost(parts.host.replace(/^\.+/, ''));
    if (pattern === '') continue;
    if (nameIsIp) {
      if (ipMatches(pattern, name)) return true;
      continue;
    }
    if (isIP(pattern.split('/')[0] ?? '') !== 0) continue;
    if (name === pattern || name.endsWith(`.${pattern}`)) return true;
  }
  return false;
}

/**
 * First non-empty variable of `names`, in order (lower case first, as curl reads them).
 * On Windows names are case-insensitive (`Https_Proxy` is HTTPS_PROXY): config/env-lookup.ts.
 */
function fromEnv(env: NodeJS.ProcessEnv, names: string[], platform: NodeJS.Platform): { value: string; source: string } | undefined {
  for (const name of names) {
    const found = envEntry(env, name, platform);
    const value = found?.value.trim();
    if (found && value) return { value, source: found.name };
  }
  return undefined;
}

/** The names of the variables that set a proxy for `target`, strongest first (curl's order). */
function proxyVariables(target: URL): string[] {
  const secure = target.protocol === 'https:' || target.protocol === 'wss:';
  return [...(secure ? ['https_proxy', 'HTTPS_PROXY'] : ['http_proxy', 'HTTP_PROXY']), 'all_proxy', 'ALL_PROXY'];
}

/** Whether any proxy variable is set at all (NO_PROXY alone names no proxy). */
export function proxyEnvironmentSet(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  const names = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'];
  return fromEnv(env, names, platform) !== undefined;
}

/** NO_PROXY / no_proxy, when set. */
export function noProxyFromEnv(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string | undefined {
  return fromEnv(env, ['no_proxy', 'NO_PROXY'], platform)?.value;
}

/** Parse a proxy URL; a bare `host:port` means http://, as in curl. */
export function parseProxy(value: string, source: string): ProxyChoice {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`proxy URL from ${source} is not a valid URL (${redactUrl(text)})`);
  }
  const redacted = redactUrl(text);
  if (!PROXY_SCHEMES.has(url.protocol) || url.hostname === '') {
    throw new ConfigError(`proxy URL from ${source} must be http:// or https:// with a host (got ${redacted})`);
  }
  let credentials: ProxyCredentials | undefined;
  if (url.username !== '' || url.password !== '') {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch {
      throw new ConfigError(`proxy URL from ${source} has malformed percent-encoding in its credentials (${redacted})`);
    }
    credentials = { user, password: pass };
    url.username = '';
    url.password = '';
  }
  const choice: ProxyChoice = { url, redacted, source };
  return credentials ? withCredentials(choice, credentials) : choice;
}

/** The same proxy with these credentials (REVERSE_PROXY_PROXY_USER/_PASSWORD win over the URL's). */
export function withCredentials(choice: ProxyChoice, credentials: ProxyCredentials): ProxyChoice {
  return { ...choice, credentials, token: basicToken(credentials) };
}

/**
 * The proxy for `target` (the gateway URL), or undefined for a direct connection.
 * Throws ConfigError for an unusable proxy URL, naming where it came from.
 */
export function resolveProxy(
  target: string,
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform = process.platform,
): ProxyChoice | undefined {
  if (explicit !== undefined && explicit.trim() !== '') return parseProxy(explicit.trim(), '--proxy');
  const url = new URL(target);
  const picked = fromEnv(env, proxyVariables(url), platform);
  if (!picked) return undefined;
  const noProxy = noProxyFromEnv(env, platform);
  if (noProxy && noProxyMatches(noProxy, url.hostname, targetPort(url))) return undefined;
  return parseProxy(picked.value, picked.source);
}

/** The port a URL connects to (its default when none is written). */
export function targetPort(url: URL): number {
  return url.port === '' ? defaultPort(url.protocol) : Number(url.port);
}
