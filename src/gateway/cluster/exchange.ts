/**
 * What one forwarded HTTP exchange looks like on the bus (docs/scale-out.md, "Forwarding"):
 * the request whole (bodies are bounded JSON or NDJSON text), the response as it comes —
 * head, numbered chunks, end — so SSE streams and long polls pass through as streams.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Principal } from '../http/auth.js';

export const MSG = {
  request: 'xreq',
  head: 'xhead',
  data: 'xdata',
  end: 'xend',
  fail: 'xfail',
  cancel: 'xcancel',
  ping: 'xping',
} as const;

export interface ExchangeRequest {
  x: string;
  principal: Principal;
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1), and what the forwarding replica already used up. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  // The principal travels signed in the envelope; the token itself never goes through Redis.
  'authorization',
  'proxy-authorization',
]);

export function forwardableRequestHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || NOT_FORWARDED.has(name) || name.startsWith('x-rp-')) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function forwardableResponseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    out[name] = value;
  }
  return out;
}
