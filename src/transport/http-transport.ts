/**
 * What the two HTTP transports (`sse`, `poll`) share (docs/protocol.md §4.1): their
 * options and request headers, how a link URL from the gateway is turned into one we can
 * reach, and the uplink — frames go up as NDJSON POSTs (post-uplink.ts) in both — with
 * the close and loss of the whole link. Each subclass brings its downlink: an event stream
 * (sse.ts) or a loop of long polls (poll.ts).
 */
import type { Dispatcher } from 'undici';
import { realClock, type Clock } from '../clock.js';
import type { ReverseProxyError } from '../errors.js';
import { TUNNEL_PATH } from '../protocol/constants.js';
import { PostUplink } from './post-uplink.js';
import type { RefusalContext } from './refusal.js';
import { TransportBase } from './transport-base.js';

export interface HttpTransportOptions {
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
  clock?: Clock;
}

/** Time a closing transport gives queued POSTs (e.g. `unregister`). */
const CLOSE_FLUSH_MS = 2_000;

export abstract class HttpTransport extends TransportBase {
  abstract override readonly kind: 'sse' | 'poll';
  protected readonly clock: Clock;
  private uplink: PostUplink | undefined;

  constructor(protected readonly opts: HttpTransportOptions) {
    super();
    this.clock = opts.clock ?? realClock;
  }

  /** Every frame sent so far was accepted by the gateway (no POST queued or in flight). */
  get uplinkIdle(): boolean {
    return this.uplink?.idle ?? true;
  }

  send(frame: string, bytes?: number): boolean {
    if (this.state !== 'open' || !this.uplink) return false;
    return this.uplink.send(frame, bytes);
  }

  async close(reason = 'closed by client'): Promise<void> {
    if (this.ending) return;
    this.state = 'closing';
    await this.uplink?.close(CLOSE_FLUSH_MS);
    this.stopDownlink();
    this.finish({ reason });
  }

  /** Where this transport's link was opened; link URLs from the gateway are relative to it. */
  protected get openUrl(): string {
    return `${this.opts.base}${TUNNEL_PATH[this.kind]}`;
  }

  /** Start posting to the link's `postUrl` (as the gateway gave it). */
  protected openUplink(postUrl: string, what: string, onposted?: () => void): void {
    this.uplink = new PostUplink({
      url: linkUrl(this.opts.base, this.openUrl, postUrl),
      dispatcher: this.opts.dispatcher,
      ctx: refusalContext(this.opts, what),
      clock: this.clock,
      onfatal: (err) => this.lost(err),
      ondrain: () => this.ondrain?.(),
      ...(onposted ? { onposted } : {}),
      ...(this.opts.token ? { token: this.opts.token } : {}),
    });
  }

  /** The link is unusable: stop both directions and report the error. */
  protected lost(err: ReverseProxyError): void {
    if (this.ending) return;
    this.state = 'closing';
    this.stopDownlink();
    void this.uplink?.close();
    this.finish({ reason: err.message, error: err });
  }

  /** Abort the downlink's request(s). */
  protected abstract stopDownlink(): void;
}

export function refusalContext(o: HttpTransportOptions, what: string): RefusalContext {
  return { what, host: new URL(o.base).host, ...(o.proxy ? { proxy: o.proxy } : {}) };
}

export function authHeaders(o: HttpTransportOptions, extra: Record<string, string> = {}): Record<string, string> {
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
