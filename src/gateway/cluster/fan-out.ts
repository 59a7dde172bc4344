/**
 * `GET /servers` and `GET /reverse-proxy/sessions` on a cluster: every live replica lists
 * what it holds (its own routes, over the bus or, for itself, the loopback), and the arrays
 * are merged. A replica that does not answer within FAN_OUT_WAIT_MS is left out and the
 * answer says so (`partial: true`) rather than waiting on it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Principal } from '../http/auth.js';
import { sendJson } from '../http/respond.js';
import type { ExchangeForwarder, ExchangeSink } from './exchange-forwarder.js';
import { forwardableRequestHeaders, type ExchangeRequest } from './exchange.js';
import type { Loopback } from './loopback.js';
import { relayLoopback } from './loopback-relay.js';

const FAN_OUT_WAIT_MS = 3000;

class Collector implements ExchangeSink {
  readonly buffered = 0;
  private status = 0;
  private text = '';
  readonly done: Promise<{ status: number; text: string } | undefined>;
  private settle!: (v: { status: number; text: string } | undefined) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.settle = resolve));
    setTimeout(() => this.settle(undefined), FAN_OUT_WAIT_MS).unref();
  }

  head(status: number, _headers: OutgoingHttpHeaders): void {
    this.status = status;
  }

  data(text: string): void {
    this.text += text;
  }

  end(): void {
    this.settle({ status: this.status, text: this.text });
  }

  lost(): void {
    this.settle(undefined);
  }
}

export async function fanOut(
  o: { replicas: () => Promise<string[]>; self: string; forwarder: ExchangeForwarder; loopback: Loopback },
  req: IncomingMessage,
  res: ServerResponse,
  principal: Principal,
  field: 'servers' | 'sessions',
): Promise<void> {
  const request: Omit<ExchangeRequest, 'x' | 'principal'> = { method: 'GET', path: req.url ?? '/', headers: forwardableRequestHeaders(req.headers) };
  const replicas = await o.replicas();
  if (!replicas.includes(o.self)) replicas.push(o.self);
  const answers = await Promise.all(
    replicas.map(async (replica): Promise<{ replica: string; answer: { status: number; text: string } | undefined }> => {
      const sink = new Collector();
      if (replica === o.self) {
        relayLoopback(o.loopback, { x: 'fan-out', principal, ...request }, sink, res);
      } else {
        const { outcome } = await o.forwarder.forward(replica, principal, request, sink).catch(() => ({ outcome: 'unreachable' as const }));
        if (outcome === 'unreachable') sink.lost();
      }
      return { replica, answer: await sink.done };
    }),
  );
  const merged: unknown[] = [];
  let partial = false;
  for (const { replica, answer: a } of answers) {
    const items = a && a.status === 200 ? (JSON.parse(a.text) as Record<string, unknown>)[field] : undefined;
    // Each entry says which replica holds it (operators: where its tunnel is attached).
    if (Array.isArray(items)) merged.push(...items.map((item: Record<string, unknown>) => ({ ...item, replica })));
    else partial = true;
  }
  sendJson(res, 200, { [field]: merged, ...(partial ? { partial: true } : {}) });
}
