/**
 * The upstream half of the HTTP transports (`sse`, `poll`): frames go to the link's
 * postUrl as NDJSON batches (docs/protocol.md §4.1). At most one POST is in flight;
 * frames produced meanwhile coalesce into the next one, so a burst costs one round trip
 * per batch, not per frame.
 *
 * Congestion: send() says false once the frames queued plus those in flight pass the
 * high-water mark; `onDrain` fires when a POST completes and they are down to half of it.
 *
 * A failed POST (network error, 404 unknown link, 5xx) ends the transport with that
 * error. It is never retried blindly: we cannot know whether the gateway took the lines,
 * and the ReliableChannel above replays exactly what is unacknowledged after the resume.
 */
import { request, type Dispatcher } from 'undici';
import { realClock, wait, type Clock } from '../clock.js';
import type { ReverseProxyError } from '../errors.js';
import { refusalFromError, refusalFromStatus, type RefusalContext } from './refusal.js';

export interface PostUplinkOptions {
  url: string;
  token?: string;
  dispatcher: Dispatcher;
  ctx: RefusalContext;
  /** Called once when a POST fails; the owner closes the transport with it. */
  onfatal: (err: ReverseProxyError) => void;
  /** Called after each POST the gateway accepted. */
  onposted?: () => void;
  /** Queued and in-flight bytes above which send() reports congestion. */
  highWaterMark?: number;
  /** Called once after send() returned false, when there is room again. */
  ondrain?: () => void;
  clock?: Clock;
}

export const POST_HIGH_WATER_BYTES = 1024 * 1024;

type UplinkState = 'open' | 'closing' | 'closed';

export class PostUplink {
  private readonly opts: PostUplinkOptions;
  private queue: string[] = [];
  private queuedBytes = 0;
  private inFlightBytes = 0;
  private congested = false;
  private inFlight: Promise<void> | undefined;
  private state: UplinkState = 'open';
  private readonly abort = new AbortController();

  constructor(opts: PostUplinkOptions) {
    this.opts = opts;
  }

  /** Nothing queued and no POST in flight. */
  get idle(): boolean {
    return this.inFlight === undefined && this.queue.length === 0;
  }

  /** Queue one frame (`bytes`: its UTF-8 length, if known); false when the queue is over its high-water mark. */
  send(frame: string, bytes?: number): boolean {
    if (this.state !== 'open') return false;
    this.queue.push(frame);
    this.queuedBytes += (bytes ?? Buffer.byteLength(frame)) + 1;
    this.pump();
    if (this.queuedBytes + this.inFlightBytes < this.highWaterMark) return true;
    this.congested = true;
    return false;
  }

  private get highWaterMark(): number {
    return this.opts.highWaterMark ?? POST_HIGH_WATER_BYTES;
  }

  private pump(): void {
    if (this.inFlight || this.queue.length === 0 || this.state === 'closed') return;
    const batch = this.queue;
    this.queue = [];
    this.inFlightBytes = this.queuedBytes;
    this.queuedBytes = 0;
    this.inFlight = this.post(`${batch.join('\n')}\n`).then(
      () => {
        this.inFlight = undefined;
        this.inFlightBytes = 0;
        this.opts.onposted?.();
        this.pump();
        if (this.congested && this.state === 'open' && this.queuedBytes + this.inFlightBytes <= this.highWaterMark / 2) {
          this.congested = false;
          this.opts.ondrain?.();
        }
      },
      (err: ReverseProxyError) => {
        this.inFlight = undefined;
        this.fail(err);
      },
    );
  }

  private async post(body: string): Promise<void> {
    const { url, token, dispatcher, ctx } = this.opts;
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'POST', headers, body, dispatcher, signal: this.abort.signal });
    } catch (err) {
      throw refusalFromError(err, ctx);
    }
    // Drain the small JSON answer so the connection goes back to the pool.
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw refusalFromStatus(res.statusCode, flatHeaders(res.headers), { ...ctx, what: `${ctx.what} POST` });
    }
  }

  private fail(err: ReverseProxyError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue = [];
    this.opts.onfatal(err);
  }

  /**
   * Stop. With `flushMs`, what is queued (e.g. `unregister` at shutdown) gets that long
   * to go out first; then anything in flight is aborted.
   */
  async close(flushMs = 0): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closing';
    if (flushMs > 0) {
      const clock = this.opts.clock ?? realClock;
      const deadline = clock.now() + flushMs;
      // Bounded: each round either finishes a POST or hits the deadline.
      for (let round = 0; round < 8 && (this.inFlight || this.queue.length > 0) && clock.now() < deadline; round++) {
        this.pump();
        const timeout = wait(clock, deadline - clock.now());
        await Promise.race([this.inFlight, timeout.done]);
        timeout.cancel();
      }
    }
    this.state = 'closed';
    this.queue = [];
    this.abort.abort();
  }
}

/** undici headers (string | string[]) → lower-case name → one string. */
export function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
