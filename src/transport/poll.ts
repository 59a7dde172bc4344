/**
 * `poll` transport (docs/protocol.md §4.1), the last resort for paths that buffer event
 * streams: `GET {base}/reverse-proxy/poll` creates a link, then a loop of long polls
 * `GET {pollUrl}?after=<n>&wait=<s>` brings frames down; frames go up as NDJSON POSTs
 * (post-uplink.ts). Each poll answer is a complete JSON document, so no intermediary can
 * hold it back.
 *
 * A failed poll is retried (at most MAX_POLL_RETRIES times in a row) with the same
 * `after`: that is safe, the gateway keeps everything after `after` until it is asked for
 * something later. Unknown link (404/409/410) or auth failure ends the transport.
 */
import { request, type Dispatcher } from 'undici';
import { ReverseProxyError, TransportError } from '../errors.js';
import { authHeaders, eventId, linkUrl, refusalContext, type HttpLinkOptions } from './http-link.js';
import { flatHeaders, PostUplink } from './post-uplink.js';
import { refusalFromError, refusalFromStatus } from './refusal.js';
import type { Transport, TransportCloseInfo } from './transport.js';

const MAX_POLL_RETRIES = 3;
/** The gateway holds a poll at most this long (spec). */
const MAX_WAIT_S = 25;
/** Bound on one poll answer. */
const MAX_POLL_BYTES = 64 * 1024 * 1024;
const CLOSE_FLUSH_MS = 2_000;

type State = 'idle' | 'connecting' | 'open' | 'closing' | 'closed';

interface LinkInfo {
  linkId: string;
  postUrl: string;
  pollUrl: string;
}

export class PollTransport implements Transport {
  readonly kind = 'poll' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  onerror?: (err: Error) => void;
  ondrain?: () => void;

  private readonly opts: HttpLinkOptions;
  private state: State = 'idle';
  private readonly abort = new AbortController();
  private uplink: PostUplink | undefined;
  private waitS: number;

  constructor(opts: HttpLinkOptions) {
    this.opts = opts;
    this.waitS = Math.max(1, Math.min(MAX_WAIT_S, Math.floor((opts.keepaliveMs ?? 30_000) / 1000)));
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('PollTransport already started');
    this.state = 'connecting';
    let link: LinkInfo;
    try {
      link = await this.openLink();
    } catch (err) {
      this.finish({ reason: (err as Error).message, error: err as Error });
      throw err;
    }
    if (this.state !== 'connecting') throw new TransportError('poll transport closed while opening');
    this.uplink = new PostUplink({
      url: linkUrl(this.opts.base, `${this.opts.base}/reverse-proxy/poll`, link.postUrl),
      dispatcher: this.opts.dispatcher,
      ctx: refusalContext(this.opts, 'poll link'),
      onfatal: (err) => this.lost(err),
      ondrain: () => this.ondrain?.(),
      ...(this.opts.token ? { token: this.opts.token } : {}),
    });
    this.state = 'open';
    void this.loop(linkUrl(this.opts.base, `${this.opts.base}/reverse-proxy/poll`, link.pollUrl));
  }

  /** Every frame sent so far was accepted by the gateway (no POST queued or in flight). */
  get uplinkIdle(): boolean {
    return this.uplink?.idle ?? true;
  }

  send(frame: string): boolean {
    if (this.state !== 'open' || !this.uplink) return false;
    return this.uplink.send(frame);
  }

  async close(reason = 'closed by client'): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    await this.uplink?.close(CLOSE_FLUSH_MS);
    this.abort.abort();
    this.finish({ reason });
  }

  private async openLink(): Promise<LinkInfo> {
    const o = this.opts;
    const ctx = refusalContext(o, 'long-poll');
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(o.openTimeoutMs)]);
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(`${o.base}/reverse-proxy/poll`, { method: 'GET', headers: authHeaders(o, { accept: 'application/json' }), dispatcher: o.dispatcher, signal });
      if (res.statusCode !== 200) {
        await res.body.dump().catch(() => undefined);
        throw refusalFromStatus(res.statusCode, flatHeaders(res.headers), ctx);
      }
      text = await res.body.text();
    } catch (err) {
      if (err instanceof ReverseProxyError) throw err;
      if (signal.aborted && !this.abort.signal.aborted) {
        throw new TransportError(`long-poll link did not open within ${o.openTimeoutMs} ms`, { code: 'ERR_HANDSHAKE_TIMEOUT', origin: 'network' });
      }
      throw refusalFromError(err, ctx);
    }
    try {
      const v = JSON.parse(text) as Partial<LinkInfo>;
      if (typeof v.linkId === 'string' && typeof v.postUrl === 'string' && typeof v.pollUrl === 'string') {
        return { linkId: v.linkId, postUrl: v.postUrl, pollUrl: v.pollUrl };
      }
    } catch {
      // reported below
    }
    // A 200 that is not our JSON comes from something else in the path (a login page).
    throw new TransportError('long-poll blocked (GET /reverse-proxy/poll answered 200 without a link)', {
      status: 200,
      origin: 'network',
      code: 'ERR_TRANSPORT_BLOCKED',
    });
  }

  private async loop(pollUrl: string): Promise<void> {
    const o = this.opts;
    const ctx = refusalContext(o, 'long-poll');
    const sep = pollUrl.includes('?') ? '&' : '?';
    let after = 0;
    let failures = 0;
    // Bounded by the transport's life: every iteration either delivers, fails (at most
    // MAX_POLL_RETRIES in a row) or ends the transport.
    while (this.state === 'open') {
      const began = Date.now();
      let err: ReverseProxyError | undefined;
      try {
        const res = await request(`${pollUrl}${sep}after=${after}&wait=${this.waitS}`, {
          method: 'GET',
          headers: authHeaders(o, { accept: 'application/json' }),
          dispatcher: o.dispatcher,
          signal: this.abort.signal,
        });
        if (res.statusCode === 200) {
          const body = await readLimited(res.body, MAX_POLL_BYTES);
          after = this.deliver(body, after);
          failures = 0;
          continue;
        }
        await res.body.dump().catch(() => undefined);
        const refusal = refusalFromStatus(res.statusCode, flatHeaders(res.headers), ctx);
        if ([401, 403, 404, 407, 409, 410].includes(res.statusCode)) {
          this.lost(
            res.statusCode === 404 || res.statusCode === 409 || res.statusCode === 410
              ? new TransportError(`poll link is gone (HTTP ${res.statusCode})`, { status: res.statusCode, origin: 'gateway' })
              : refusal,
          );
          return;
        }
        err = refusal;
      } catch (e) {
        if (this.state !== 'open') return;
        err = e instanceof TransportError ? e : refusalFromError(e, ctx);
        // An idle-killing proxy cuts every poll that waits longer than it allows: after a
        // second cut in a row before the wait was up, ask for less (one blip is no pattern).
        const lasted = Math.floor((Date.now() - began) / 1000);
        if (failures >= 1 && lasted >= 1 && lasted < this.waitS) this.waitS = Math.max(1, Math.floor(lasted * 0.8));
      }
      failures++;
      if (failures > MAX_POLL_RETRIES) {
        this.lost(new TransportError(`long-poll failed ${failures} times in a row: ${err.message}`, { cause: err }));
        return;
      }
      this.onerror?.(err);
      await new Promise<void>((r) => setTimeout(r, 200 * failures).unref());
    }
  }

  /** Deliver one poll answer; returns the new `after`. */
  private deliver(body: string, after: number): number {
    let v: { next?: unknown; frames?: unknown };
    try {
      v = JSON.parse(body) as typeof v;
    } catch {
      throw new TransportError('long-poll answer is not JSON', { origin: 'network' });
    }
    if (!Array.isArray(v.frames)) throw new TransportError('long-poll answer has no frames list', { origin: 'gateway' });
    for (const f of v.frames) {
      if (this.state !== 'open') break;
      this.onmessage?.(typeof f === 'string' ? f : JSON.stringify(f));
    }
    const next = eventId(v.next as number | undefined);
    return next > after ? next : after;
  }

  private lost(err: ReverseProxyError): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.abort.abort();
    void this.uplink?.close();
    this.finish({ reason: err.message, error: err });
  }

  private finish(info: TransportCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.onclose?.(info);
  }
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new TransportError(`long-poll answer larger than ${limit} bytes`, { origin: 'gateway' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
