/**
 * Replica-to-replica messages over Redis pub/sub: one channel per replica, every message
 * signed and addressed (signed-message.ts) and numbered per sender. Redis delivers one
 * publisher's messages in order, so a number that does not grow is a replay and is dropped.
 *
 * `send` resolves with how many subscribers got the message: 0 means the addressee is not
 * listening (its process is gone, or it lost Redis) — the callers use that as the fastest
 * sign of a dead replica, well before its liveness key expires.
 */
import type { Logger } from '../../observability/logger.js';
import type { RedisConnection } from './redis-connection.js';
import { keys } from './cluster-keys.js';
import { sign, verify, type Addressed } from './signed-message.js';

export interface BusMessage extends Addressed {
  /** Per-sender message number (replay protection). */
  n: number;
  [field: string]: unknown;
}

type Handler = (msg: BusMessage) => void;

/** The answer to call(): the reply, or why there is none. */
export type CallResult = { kind: 'reply'; msg: BusMessage } | { kind: 'unreachable' } | { kind: 'timeout' };

const REPLY = 'reply';

export class ReplicaBus {
  private readonly handlers = new Map<string, Handler>();
  private readonly lastFrom = new Map<string, number>();
  private next = 0;
  private refused = 0;
  private readonly calls = new Map<number, (msg: BusMessage) => void>();

  constructor(
    private readonly redis: RedisConnection,
    readonly self: string,
    private readonly key: Buffer,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Ask one replica and wait for its answer (a handler registered with answer()):
   * 'unreachable' when nobody is listening on its channel, 'timeout' after `timeoutMs`.
   */
  async call(to: string, type: string, body: Record<string, unknown>, timeoutMs: number): Promise<CallResult> {
    const id = this.next + 1;
    const reply = new Promise<CallResult>((resolve) => {
      const timer = setTimeout(() => {
        this.calls.delete(id);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      timer.unref();
      this.calls.set(id, (msg) => {
        clearTimeout(timer);
        this.calls.delete(id);
        resolve({ kind: 'reply', msg });
      });
    });
    const receivers = await this.send(to, type, { ...body, call: id }).catch((err: unknown) => {
      this.calls.delete(id);
      throw err;
    });
    if (receivers === 0) {
      this.calls.get(id)?.({} as BusMessage);
      return { kind: 'unreachable' };
    }
    return reply;
  }

  /** Serve call()s of `type`: the handler's result goes back to the caller. */
  answer(type: string, handler: (msg: BusMessage) => Promise<Record<string, unknown>>): void {
    this.on(type, (msg) => {
      void handler(msg).then(
        (body) => this.send(msg.from, REPLY, { ...body, call: msg.call }),
        (err: unknown) => this.send(msg.from, REPLY, { call: msg.call, error: err instanceof Error ? err.message : String(err) }),
      ).catch(() => {});
    });
  }

  async start(): Promise<void> {
    this.on(REPLY, (msg) => {
      if (typeof msg.call === 'number') this.calls.get(msg.call)?.(msg);
    });
    const channel = keys.bus(this.self);
    this.redis.subscriber.on('message', (ch: string, text: string) => {
      if (ch === channel) this.receive(text);
    });
    await this.redis.subscriber.subscribe(channel);
  }

  /** Messages refused (bad signature, wrong addressee, replayed or stale). */
  get refusedCount(): number {
    return this.refused;
  }

  on(type: string, handler: Handler): void {
    this.handlers.set(type, handler);
  }

  /** Publish to one replica; resolves with the number of receivers (0: nobody is listening). */
  async send(to: string, type: string, body: Record<string, unknown>): Promise<number> {
    const msg: BusMessage = { ...body, t: type, from: this.self, to, ts: this.now(), n: ++this.next };
    return this.redis.command.publish(keys.bus(to), sign(this.key, msg));
  }

  private receive(text: string): void {
    const v = verify<BusMessage>(this.key, text, this.self, this.now());
    if (!v.ok) return this.refuse(v.reason);
    const msg = v.msg;
    if (typeof msg.n !== 'number' || typeof msg.from !== 'string') return this.refuse('no sender number');
    if ((this.lastFrom.get(msg.from) ?? 0) >= msg.n) return this.refuse('replayed');
    this.lastFrom.set(msg.from, msg.n);
    // Bounded (replica ids are per process, so senders come and go): the oldest sender is
    // forgotten past 10,000 — a replay of its messages is still refused by the time window.
    if (this.lastFrom.size > 10_000) this.lastFrom.delete(this.lastFrom.keys().next().value!);
    const handler = this.handlers.get(msg.t);
    if (!handler) return this.log.debug({ event: 'cluster_message_ignored', type: msg.t }, 'cluster message of unknown type ignored');
    try {
      handler(msg);
    } catch (err) {
      this.log.error({ err, type: msg.t }, 'cluster message handler failed');
    }
  }

  private refuse(reason: string): void {
    this.refused++;
    if (this.refused <= 5 || this.refused % 1000 === 0) {
      this.log.warn({ event: 'cluster_message_refused', reason, refused: this.refused }, `cluster message refused: ${reason}`);
    }
  }
}
