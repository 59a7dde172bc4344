/**
 * Endpoint URLs from the gateway base URL (docs/protocol.md §4): the base's path prefix is
 * kept (`https://h/prefix` → `wss://h/prefix/reverse-proxy/ws`); a URL that already
 * contains `/reverse-proxy/` is used as given.
 */
import { ConfigError } from '../errors.js';
import { redactUrl } from '../observability/redact.js';
import { TUNNEL_PATH, TUNNEL_PREFIX } from '../protocol/constants.js';
import type { TransportKind } from './transport.js';

export function httpBase(gateway: string): URL {
  let url: URL;
  try {
    url = new URL(gateway);
  } catch {
    throw new ConfigError(`gateway URL is not a valid URL: ${redactUrl(gateway)}`);
  }
  if (url.protocol === 'ws:') url.protocol = 'http:';
  else if (url.protocol === 'wss:') url.protocol = 'https:';
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`gateway URL must use http, https, ws or wss, not ${url.protocol}`);
  }
  const i = url.pathname.indexOf(`${TUNNEL_PREFIX}/`);
  url.pathname = i >= 0 ? url.pathname.slice(0, i) : url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

export function endpointUrl(gateway: string, kind: TransportKind | 'base'): string {
  const base = httpBase(gateway);
  const prefix = base.pathname === '/' ? '' : base.pathname;
  if (kind === 'base') return `${base.origin}${prefix}`;
  if (kind === 'ws') {
    const scheme = base.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${base.host}${prefix}${TUNNEL_PATH.ws}`;
  }
  return `${base.origin}${prefix}${TUNNEL_PATH[kind]}`;
}
