/**
 * The owner's half of forwarding: take a verified request from the bus, run it on the
 * loopback listener, and send the response back as it comes (head, numbered chunks, end).
 * The forwarding replica's `xcancel` (its client went away) aborts the local request, which
 * the routes see as the client hanging up. A chunk nobody receives (the forwarding replica
 * is gone) aborts it too.
 */
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../http/auth.js';
import { forwardableResponseHeaders, MSG, type ExchangeRequest } from './exchange.js';
import type { Loopback } from './loopback.js';
import type { BusMessage, ReplicaBus } from './replica-bus.js';

export class ExchangeRunner {
  /** `${from} ${x}` → abort. */
  private readonly running = new Map<string, () => void>();

  constructor(
    private readonly bus: ReplicaBus,
    private readonly loopback: Loopback,
    private readonly log: Logger,
  ) {
    bus.on(MSG.request, (m) => this.start(m));
    bus.on(MSG.cancel, (m) => this.running.get(`${m.from} ${String(m.x)}`)?.());
    bus.on(MSG.ping, () => {});
  }

  get runningCount(): number {
    return this.running.size;
  }

  private start(m: BusMessage): void {
    const x = parseRequest(m);
    if (!x) return this.log.warn({ event: 'cluster_request_malformed', from: m.from }, 'forwarded request malformed: dropped');
    const key = `${m.from} ${x.x}`;
    const reply = (type: string, body: Record<string, unknown>): void => {
      void this.bus.send(m.from, type, { x: x.x, ...body }).then(
        (receivers) => {
          if (receivers === 0) abort();
        },
        () => abort(),
      );
    };
    let done = false;
    const finish = (): void => {
      done = true;
      this.running.delete(key);
    };
    const abort = (): void => {
      if (done) return;
      finish();
      cancel();
    };
    const cancel = this.loopback.run(
      x,
      (res) => {
        let k = 0;
        reply(MSG.head, { status: res.statusCode ?? 502, headers: forwardableResponseHeaders(res.headers) });
        res.setEncoding('utf8');
        res.on('data', (data: string) => reply(MSG.data, { k: k++, data }));
        res.on('end', () => {
          if (done) return;
          finish();
          reply(MSG.end, { k });
        });
        res.on('close', () => {
          if (done) return;
          finish();
          reply(MSG.fail, { message: 'the owner replica ended the response early' });
        });
      },
      (err) => {
        if (done) return;
        finish();
        reply(MSG.fail, { message: `the owner replica could not run the request: ${err.message}` });
      },
    );
    this.running.set(key, abort);
  }

  close(): void {
    for (const abort of [...this.running.values()]) abort();
  }
}

function parseRequest(m: BusMessage): ExchangeRequest | undefined {
  const p = m.principal as Principal | undefined;
  if (typeof m.x !== 'string' || typeof m.method !== 'string' || typeof m.path !== 'string' || !m.path.startsWith('/')) return undefined;
  if (!p || typeof p.subject !== 'string' || typeof m.headers !== 'object' || m.headers === null) return undefined;
  if (m.body !== undefined && typeof m.body !== 'string') return undefined;
  return {
    x: m.x,
    principal: { subject: p.subject, isAdmin: p.isAdmin === true },
    method: m.method,
    path: m.path,
    headers: m.headers as Record<string, string>,
    ...(m.body !== undefined ? { body: m.body } : {}),
  };
}
