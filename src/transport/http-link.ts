/**
 * What the two HTTP transports (`sse`, `poll`) share: their options, request headers and
 * how a link URL from the gateway is turned into one we can reach.
 */
import type { Dispatcher } from 'undici';
import type { RefusalContext } from './refusal.js';

export interface HttpLinkOptions {
  /** `{origin}{prefix}` of the gateway (endpointUrl(gateway, 'base')). */
  base: string;
  token?: string;
  dispatcher: Dispatcher;
  /** Deadline for the link to open: the SSE `session` event, or the poll link answer. */
  openTimeoutMs: number;
  /** Client keepalive; the poll wait is min(25 s, keepalive). */
  keepaliveMs?: number;
  /** Redacted proxy URL, when one is in the path (for messages only). */
  proxy?: string;
}

export function refusalContext(o: HttpLinkOptions, what: string): RefusalContext {
  return { what, host: new URL(o.base).host, ...(o.proxy ? { proxy: o.proxy } : {}) };
}

export function authHeaders(o: HttpLinkOptions, extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) };
}

/**
 * A postUrl/pollUrl from the gateway: a relative reference (RFC 3986 §5) resolved against
 * the URL of the request that returned it (`links/{id}/messages` from
 * `{base}/reverse-proxy/sse`), so a path prefix added by a reverse proxy in front of the
 * gateway is kept. Of an absolute URL only the path and query are used: the gateway may
 * know itself under another host name, and our base is what demonstrably reaches it.
 */
export function linkUrl(base: string, from: string, ref: string): string {
  const b = new URL(base);
  const u = new URL(ref, from);
  return `${b.origin}${u.pathname}${u.search}`;
}

/** Event ids are decimal integers (docs/protocol.md §4.1); anything else reads as 0. */
export function eventId(id: string | number | undefined): number {
  const n = typeof id === 'number' ? id : Number(id);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
