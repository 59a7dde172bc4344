/**
 * macOS: the proxy settings of the network service in use, from `/usr/sbin/scutil --proxy`
 * (SCDynamicStoreCopyProxies, what CFNetwork and Safari read), printed as
 *   <dictionary> {
 *     ExceptionsList : <array> {
 *       0 : *.local
 *       1 : 169.254/16
 *     }
 *     ExcludeSimpleHostnames : 1
 *     HTTPSEnable : 1
 *     HTTPSPort : 8080
 *     HTTPSProxy : proxy.corp.example
 *     ProxyAutoConfigEnable : 1
 *     ProxyAutoConfigURLString : http://wpad.corp.example/proxy.pac
 *     __SCOPED__ : <dictionary> { … per interface … }
 *   }
 * Used: ProxyAutoConfigEnable + ProxyAutoConfigURLString (a PAC URL; wins over a manual
 * proxy), HTTPSEnable/HTTPSProxy/HTTPSPort and HTTPEnable/HTTPProxy/HTTPPort (manual),
 * ExceptionsList and ExcludeSimpleHostnames (the bypass list; the latter is `<local>`).
 * Auto-discovery (ProxyAutoDiscoveryEnable, WPAD) and SOCKS are reported as unsupported.
 */
import { emptySettings, type SystemProxySettings } from './settings.js';

export const SCUTIL = '/usr/sbin/scutil';

export type ScutilValue = string | ScutilDictionary | ScutilValue[];
export interface ScutilDictionary {
  [key: string]: ScutilValue;
}

/** Bound on nesting: scutil prints two or three levels; anything deeper is not its output. */
const MAX_DEPTH = 16;

/** scutil's `<dictionary> { key : value … }` text as nested objects and arrays. */
export function parseScutil(text: string): ScutilDictionary {
  const root: ScutilDictionary = {};
  const stack: Array<ScutilDictionary | ScutilValue[]> = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (stack.length === 0) {
      if (line === '<dictionary> {') stack.push(root);
      continue;
    }
    if (line === '}') {
      stack.pop();
      if (stack.length === 0) break;
      continue;
    }
    const m = /^(.+?) : (.*)$/.exec(line);
    if (!m) continue;
    const [, key, rest] = m as unknown as [string, string, string];
    const container = stack[stack.length - 1]!;
    let value: ScutilValue = rest;
    const opens = /^<(dictionary|array)> \{$/.exec(rest);
    if (opens) value = opens[1] === 'array' ? [] : {};
    if (Array.isArray(container)) container.push(value);
    else container[key] = value;
    if (opens) {
      if (stack.length >= MAX_DEPTH) break;
      stack.push(value as ScutilDictionary | ScutilValue[]);
    }
  }
  return root;
}

function str(d: ScutilDictionary, key: string): string | undefined {
  const v = d[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function on(d: ScutilDictionary, key: string): boolean {
  return str(d, key) === '1';
}

/** `host` + `port` → `host:port`; IPv6 literals get brackets. */
function hostPort(host: string, port: string | undefined): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port && /^\d+$/.test(port) ? `${h}:${port}` : h;
}

export function macosProxySettings(d: ScutilDictionary): SystemProxySettings {
  const settings = emptySettings('macOS system proxy settings');
  const pac = str(d, 'ProxyAutoConfigURLString');
  if (on(d, 'ProxyAutoConfigEnable') && pac) settings.pac = pac;
  const https = str(d, 'HTTPSProxy');
  if (on(d, 'HTTPSEnable') && https) settings.https = hostPort(https, str(d, 'HTTPSPort'));
  const http = str(d, 'HTTPProxy');
  if (on(d, 'HTTPEnable') && http) settings.http = hostPort(http, str(d, 'HTTPPort'));
  const exceptions = d.ExceptionsList;
  if (Array.isArray(exceptions)) {
    // System Settings accepts commas between entries in one line: `*.local, 169.254/16`.
    settings.bypass = exceptions.flatMap((e) => (typeof e === 'string' ? e.split(/[,\s]+/) : [])).filter((e) => e !== '');
  }
  if (on(d, 'ExcludeSimpleHostnames')) settings.bypass.push('<local>');
  if (!settings.pac && on(d, 'ProxyAutoDiscoveryEnable')) settings.unsupported.push('proxy auto-discovery (WPAD)');
  if (!settings.http && !settings.https && on(d, 'SOCKSEnable')) settings.unsupported.push(`SOCKS proxy (${str(d, 'SOCKSProxy') ?? '?'})`);
  return settings;
}
