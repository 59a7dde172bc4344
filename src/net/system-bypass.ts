/**
 * The OS bypass lists (Windows ProxyOverride, macOS ExceptionsList), matched the way
 * browsers read them there:
 * - `<local>`: a host name without a dot (`intranet`), never an IP address;
 * - an entry with `*`: a wildcard over the host name, case-insensitive (`*.corp.example`
 *   matches `a.corp.example` but not `corp.example`; `10.*` matches `10.1.2.3`);
 * - `.corp.example`: the domain's subdomains and itself (as in NO_PROXY);
 * - an IP address or CIDR range (`10.0.0.0/8`, `fd00::/8`, macOS's short `169.254/16`),
 *   a name, optionally with `:port`: src/net/proxy.ts's NO_PROXY matcher (literal
 *   addresses only, nothing is resolved) — except that a plain name matches only itself,
 *   as in the OS (NO_PROXY would also match its subdomains).
 * A leading `http://`/`https://` on an entry (Windows allows it) is ignored.
 */
import { isIP } from 'node:net';
import { noProxyMatches } from './proxy.js';

function bareHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** `169.254/16` → `169.254.0.0/16` (macOS writes IPv4 ranges with the zero octets left out). */
function fullCidr(entry: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){0,3})\/(\d{1,2})$/.exec(entry);
  if (!m) return entry;
  const octets = m[1]!.split('.');
  while (octets.length < 4) octets.push('0');
  return `${octets.join('.')}/${m[2]}`;
}

function wildcard(pattern: string, host: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(host);
}

/** Whether `host` (the gateway's, maybe with IPv6 brackets) on `port` bypasses the proxy. */
export function bypassMatches(entries: readonly string[], host: string, port: number): boolean {
  const name = bareHost(host);
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '');
    if (entry === '') continue;
    if (entry === '<local>') {
      if (!name.includes('.') && isIP(name) === 0) return true;
      continue;
    }
    if (entry.includes('*')) {
      if (wildcard(entry.replace(/:\d+$/, ''), name)) return true;
      continue;
    }
    const full = fullCidr(entry);
    // A name (not an address, not a leading-dot domain), maybe with a port: itself only.
    const named = /^([^:/[\]]+)(?::(\d+))?$/.exec(full);
    if (named && isIP(named[1]!) === 0 && !full.startsWith('.')) {
      if (bareHost(named[1]!) === name && (named[2] === undefined || Number(named[2]) === port)) return true;
      continue;
    }
    if (noProxyMatches(full, host, port)) return true;
  }
  return false;
}
