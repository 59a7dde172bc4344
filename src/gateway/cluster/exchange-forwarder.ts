/**
 * The forwarding half (docs/scale-out.md, "Forwarding"): send a request to the replica that
 * owns what it addresses and relay the response back as it comes.
 *
 * Never a hang: while exchanges are open with a replica, it is pinged every second; a ping
 * (or the request itself) that no subscriber receives means the replica is gone, and every
 * open exchange with it ends at once: `lost` (the caller writes the error its client
 * understands, mcp-loss.ts). A head that does not come within `headDeadlineMs` ends it too.
 * Bounded: a response chunk that would leave more than `maxBufferedBytes` unsent to a slow
 * client ends the exchange (and cancels it at the owner).
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../http/auth.js';
import { MSG, type ExchangeRequest } from './exchange.js';
import type { BusMessage, ReplicaBus } from './replica-bus.js';

/** Where a forwarded response goes: an HTTP response, or a collector (fan-out). */
export interface ExchangeSink {
  head(status: number, headers: OutgoingHttpHeaders): void;
  data(text: string): void;
  end(): void;
  /** The owner is gone or failed; nothing more will come. */
  lost(reason: string): void;
  /** Bytes written but not yet taken by the client. */
  readonly buffered: number;
}

export type ForwardOutcome = 'sent' | 'unreachable';

interface Open {
  target: string;
  sink: ExchangeSink;
  next: number;
  headed: boolean;
  deadline: NodeJS.Timeout | undefined;
}

const PING_MS = 1000;

export interface ExchangeForwarderOptions {
  maxBufferedBytes: number;
  headDeadlineMs: number;
  logger: Logger;
}

export class ExchangeForwarder {
  private readonly open = new Map<string, Open>();
  private pinger: NodeJS.Timeout | undefined;

  constructor(
    private readonly bus: ReplicaBus,
    private readonly o: ExchangeForwarderOptions,
  ) {
    bus.on(MSG.head, (m) => this.onHead(m));
    bus.on(MSG.data, (m) => this.onData(m));
    bus.on(MSG.end, (m) => this.onEnd(m));
    bus.on(MSG.fail, (m) => this.finish(String(m.x), (s) => s.lost(typeof m.message === 'string' ? m.message : 'the owner replica failed')));
  }

  get openCount(): number {
    return this.open.size;
  }

  /**
   * Send `req` to `target`. 'unreachable': nobody received it (the sink was not touched; the
   * caller may look for a new owner). 'sent': the sink gets the response, or `lost`.
   * Returns a cancel function with the outcome (call it when the client goes away).
   */
  async forward(target: string, principal: Principal, req: Omit<ExchangeRequest, 'x' | 'principal'>, sink: ExchangeSink): Promise<{ outcome: ForwardOutcome; cancel: () => void }> {
    const x = randomUUID();
    const entry: Open = { target, sink, next: 0, headed: false, deadline: undefined };
    this.open.set(x, entry);
    entry.deadline = setTimeout(() => this.finish(x, (s) => s.lost(`the owner replica did not answer within ${Math.round(this.o.headDeadlineMs / 1000)} s`)), this.o.headDeadlineMs);
    entry.deadline.unref();
    let receivers: number;
    try {
      receivers = await this.bus.send(target, MSG.request, { x, principal, ...req });
    } catch (err) {
      this.forget(x);
      throw err;
    }
    if (receivers === 0) {
      this.forget(x);
      return { outcome: 'unreachable', cancel: () => {} };
    }
    this.schedulePing();
    return {
      outcome: 'sent',
      cancel: () => {
        if (!this.open.has(x)) return;
        this.forget(x);
        void this.bus.send(target, MSG.cancel, { x }).catch(() => {});
      },
    };
  }

  /** End every open exchange (shutdown). */
  close(): void {
    for (const x of [...this.open.keys()]) this.finish(x, (s) => s.lost('this gateway replica is shutting down'));
    if (this.pinger) clearTimeout(this.pinger);
  }

  private onHead(m: BusMessage): void {
    const e = this.open.get(String(m.x));
    if (!e || e.headed || m.from !== e.target) return;
    e.headed = true;
    if (e.deadline) clearTimeout(e.deadline);
    e.deadline = undefined;
    e.sink.head(typeof m.status === 'number' ? m.status : 502, (m.headers ?? {}) as OutgoingHttpHeaders);
  }

  private onData(m: BusMessage): void {
    const x = String(m.x);
    const e = this.open.get(x);
    if (!e || m.from !== e.target || !e.headed) return;
    // Pub/sub loses nothing on a live connection; a gap means the connection dropped in between.
    if (m.k !== e.next) return this.finish(x, (s) => s.lost('part of the response was lost between replicas'), true);
    e.next++;
    e.sink.data(String(m.data));
    if (e.sink.buffered > this.o.maxBufferedBytes) {
      this.o.logger.warn({ event: 'slow_client_closed', target: e.target, buffered: e.sink.buffered, limit: this.o.maxBufferedBytes }, 'forwarded response closed: the client stopped reading');
      this.finish(x, (s) => s.lost(`more than ${this.o.maxBufferedBytes} bytes unsent to a client that stopped reading`), true);
    }
  }

  private onEnd(m: BusMessage): void {
    const x = String(m.x);
    const e = this.open.get(x);
    if (!e || m.from !== e.target) return;
    if (m.k !== e.next || !e.headed) return this.finish(x, (s) => s.lost('part of the response was lost between replicas'));
    this.finish(x, (s) => s.end());
  }

  private finish(x: string, how: (sink: ExchangeSink) => void, cancelAtOwner = false): void {
    const e = this.open.get(x);
    if (!e) return;
    this.forget(x);
    if (cancelAtOwner) void this.bus.send(e.target, MSG.cancel, { x }).catch(() => {});
    how(e.sink);
  }

  private forget(x: string): void {
    const e = this.open.get(x);
    if (e?.deadline) clearTimeout(e.deadline);
    this.open.delete(x);
  }

  /** While anything is open: ping each replica it is open with, once a second. */
  private schedulePing(): void {
    if (this.pinger || this.open.size === 0) return;
    this.pinger = setTimeout(() => {
      this.pinger = undefined;
      const targets = new Set([...this.open.values()].map((e) => e.target));
      for (const target of targets) {
        void this.bus.send(target, MSG.ping, {}).then(
          (receivers) => {
            if (receivers === 0) this.lose(target, 'the owner replica is gone');
          },
          () => this.lose(target, 'Redis is unreachable'),
        );
      }
      this.schedulePing();
    }, PING_MS);
    this.pinger.unref();
  }

  private lose(target: string, reason: string): void {
    for (const [x, e] of [...this.open]) if (e.target === target) this.finish(x, (s) => s.lost(reason));
  }
}
