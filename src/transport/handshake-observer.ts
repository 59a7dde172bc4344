/**
 * undici's WebSocket reports every failed upgrade the same way (an `error` event with an
 * empty TypeError, then close 1006), whether the gateway said 401, a proxy said 403 or
 * 407, or an Upgrade-stripping proxy let a plain 200/426 through. The negotiator must
 * tell these apart (docs/corporate-networks.md), so we watch undici's diagnostics
 * channels: each handshake carries a random marker header, `undici:request:create` maps
 * the request object to it, and `undici:request:headers` / `undici:request:error` then
 * give the status or the proxy's CONNECT refusal for that exact attempt.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';

export const ATTEMPT_HEADER = 'x-mcp-reverse-proxy-attempt';

export interface HandshakeOutcome {
  /** HTTP status of the upgrade response (101 on success), if one arrived. */
  status?: number;
  /** Response headers (lower-case names). */
  headers?: Record<string, string>;
  /** undici's error for the request (e.g. the proxy refusing CONNECT). */
  error?: Error;
  /** Status the proxy answered to CONNECT, parsed from undici's message. */
  proxyStatus?: number;
}

const pending = new Map<string, HandshakeOutcome>();
const byRequest = new WeakMap<object, HandshakeOutcome>();
let subscribed = false;

function headerValue(headers: unknown, name: string): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
  }
  return undefined;
}

function toRecord(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(raw)) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
  return out;
}

function subscribe(): void {
  if (subscribed) return;
  subscribed = true;
  diagnosticsChannel.subscribe('undici:request:create', (msg) => {
    const { request } = msg as { request: { headers: unknown } };
    const id = headerValue(request.headers, ATTEMPT_HEADER);
    const outcome = id === undefined ? undefined : pending.get(id);
    if (outcome) byRequest.set(request, outcome);
  });
  diagnosticsChannel.subscribe('undici:request:headers', (msg) => {
    const { request, response } = msg as { request: object; response: { statusCode: number; headers: unknown } };
    const outcome = byRequest.get(request);
    if (!outcome) return;
    outcome.status = response.statusCode;
    outcome.headers = toRecord(response.headers);
  });
  diagnosticsChannel.subscribe('undici:request:error', (msg) => {
    const { request, error } = msg as { request: object; error: Error };
    const outcome = byRequest.get(request);
    if (!outcome) return;
    outcome.error = error;
    const m = /Proxy response \((\d{3})\)/.exec(error.message);
    if (m) outcome.proxyStatus = Number(m[1]);
  });
}

/** Start observing one handshake; returns the header to send and a way to read the outcome. */
export function observeHandshake(): { id: string; outcome: HandshakeOutcome; done(): void } {
  subscribe();
  const id = randomUUID();
  const outcome: HandshakeOutcome = {};
  pending.set(id, outcome);
  return { id, outcome, done: () => pending.delete(id) };
}
