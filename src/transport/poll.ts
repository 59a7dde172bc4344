/**
 * `poll` transport (docs/protocol.md §4.1), the last resort for paths that buffer event
 * streams: `GET {base}/reverse-proxy/poll` creates a link, then a loop of long polls
 * `GET {pollUrl}?after=<n>&wait=<s>` brings frames down; frames go up as NDJSON POSTs
 * (http-transport.ts). Each poll answer is a complete JSON document, so no intermediary can
 * hold it back.
 *
 * A failed poll is retried (at most MAX_POLL_RETRIES times in a row) with the same
 * `after`: that is safe, the gateway keeps everything after `after` until it is asked for
 * something later. Unknown link (404/409/410) or auth failure ends the transport.
 */
import { request, type Dispatcher } from 'undici';
import { wait } from '../clock.js';
import { ReverseProxyError, TransportError } from '../errors.js';
import { DEFAULT_KEEPALIVE_S, POLL_MAX_WAIT_S, TUNNEL_PATH } from '../protocol/constants.js';
import { authHeaders, eventId, HttpTransport, linkUrl, refusalContext, type HttpTransportOptions } from './http-transport.js';
import { flatHeaders } from './post-uplink.js';
import { refusalFromError, refusalFromStatus } from './refusal.js';

const MAX_POLL_RETRIES = 3;
/** Bound on one poll answer. */
const MAX_POLL_BYTES = 64 * 1024 * 1024;

interface LinkInfo {
  linkId: string;
  postUrl: string;
  pollUrl: string;
}

export class PollTransport extends HttpTransport {
  readonly kind = 'poll' as const;
  private readonly abort = new AbortController();
  private waitS: number;

  constructor(opts: HttpTransportOptions) {
    super(opts);
    this.waitS = Math.max(1, Math.min(POLL_MAX_WAIT_S, Math.floor((opts.keepaliveMs ?? DEFAULT_KEEPALIVE_S * 1000) / 1000)));
  }

  async start(): Promise<void> {
    this.beginStart();
    let link: LinkInfo;
    try {
      link = await this.openLink();
    } catch (err) {
      this.finish({ reason: (err as Error).message, error: err as Error });
      throw err;
    }
    if (this.state !== 'connecting') throw new TransportError('poll transport closed while opening');
    this.openUplink(link.postUrl, 'poll link');
    this.state = 'open';
    void this.loop(linkUrl(this.opts.base, this.openUrl, link.pollUrl));
  }

  protected stopDownlink(): void {
    this.abort.abort();
  }


  private async openLink(): Promise<LinkInfo> {
    const o = this.opts;
    const ctx = refusalContext(o, 'long-poll');
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(o.openTimeoutMs)]);
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(this.openUrl, { method: 'GET', headers: authHeaders(o, { accept: 'application/json' }), dispatcher: o.dispatcher, signal });
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
    throw new TransportError(`long-poll blocked (GET ${TUNNEL_PATH.poll} answered 200 without a link)`, {
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
      const began = this.clock.now();
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
        const lasted = Math.floor((this.clock.now() - began) / 1000);
        if (failures >= 1 && lasted >= 1 && lasted < this.waitS) this.waitS = Math.max(1, Math.floor(lasted * 0.8));
      }
      failures++;
      if (failures > MAX_POLL_RETRIES) {
        this.lost(new TransportError(`long-poll failed ${failures} times in a row: ${err.message}`, { cause: err }));
        return;
      }
      this.onerror?.(err);
      await wait(this.clock, 200 * failures).done;
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
      // Parsed once, here: the frame goes on as the value (a string element is a frame's text).
      this.onmessage?.(typeof f === 'string' ? f : { json: f });
    }
    const next = eventId(v.next as number | undefined);
    return next > after ? next : after;
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
