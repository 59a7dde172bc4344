/**
 * `sse` transport (docs/protocol.md §4.1): frames come down on one `text/event-stream`
 * from `GET {base}/reverse-proxy/sse`, and go up as NDJSON POSTs to the link's postUrl
 * (http-transport.ts). start() resolves on the stream's `session` event. When that event
 * does not arrive within the first-event deadline, something in the path buffers the
 * stream (the gateway pads and flushes it at once): start() rejects with
 * ERR_TRANSPORT_BLOCKED, which is the negotiator's signal to try `poll`.
 *
 * A stream that drops while the link is alive is reopened (`?link=` + `Last-Event-ID`)
 * at most MAX_REOPENS times in a row; the gateway replays what we missed. A 404/409
 * (link gone, id too old) or a third drop ends the transport, and the tunnel resumes on
 * a new link with the ReliableChannel's replay.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { TransportError, type ReverseProxyError } from '../errors.js';
import { SSE_EVENT } from '../protocol/constants.js';
import { readEventStream } from './event-stream.js';
import { authHeaders, eventId, HttpTransport, refusalContext } from './http-transport.js';
import { blockedAfterOpen } from './refusal.js';

const MAX_REOPENS = 2;

interface SessionEvent {
  linkId: string;
  postUrl: string;
}

/** One opening of the stream: its generation, and how it settles. */
interface Opening {
  gen: number;
  reopen: boolean;
  settled: boolean;
  resolve: (session: SessionEvent) => void;
  reject: (err: ReverseProxyError) => void;
  timer: unknown;
  abort: AbortController;
}

export class SseTransport extends HttpTransport {
  readonly kind = 'sse' as const;

  private linkId: string | undefined;
  private lastEventId = 0;
  private reopens = 0;
  /** Each opened stream gets a generation; events of an older one are ignored. */
  private generation = 0;
  private streamAbort: AbortController | undefined;
  private firstAnswerWatched = false;
  private firstAnswerTimer: unknown;

  get link(): string | undefined {
    return this.linkId;
  }

  async start(): Promise<void> {
    this.beginStart();
    try {
      await this.openStream();
    } catch (err) {
      this.finish({ reason: (err as Error).message, error: err as Error });
      throw err;
    }
    if ((this.state as string) !== 'open') throw new TransportError('SSE transport closed while opening');
  }

  protected stopDownlink(): void {
    this.streamAbort?.abort();
  }

  protected override released(): void {
    this.clock.clearTimeout(this.firstAnswerTimer);
  }

  /** Open (or reopen) the event stream; resolves on its `session` event. */
  private openStream(): Promise<SessionEvent> {
    const o = this.opts;
    const reopen = this.linkId !== undefined;
    const abort = new AbortController();
    this.streamAbort = abort;
    const headers = authHeaders(o, { accept: 'text/event-stream', 'cache-control': 'no-cache' });
    if (reopen && this.lastEventId > 0) headers['last-event-id'] = String(this.lastEventId);
    return new Promise<SessionEvent>((resolve, reject) => {
      const s: Opening = { gen: ++this.generation, reopen, settled: false, resolve, reject, timer: undefined, abort };
      s.timer = this.clock.setTimeout(() => {
        const why = `SSE stream blocked (no session event within ${o.openTimeoutMs} ms: something in the path buffers the event stream)`;
        this.ended(s, new TransportError(why, { code: 'ERR_TRANSPORT_BLOCKED', origin: 'network' }));
      }, o.openTimeoutMs);
      readEventStream(
        {
          url: `${this.openUrl}${reopen ? `?link=${encodeURIComponent(this.linkId!)}` : ''}`,
          headers,
          dispatcher: o.dispatcher,
          signal: abort.signal,
          ctx: refusalContext(o, 'SSE stream'),
          statusError: (status) =>
            reopen && (status === 404 || status === 409)
              ? new TransportError(`SSE link ${this.linkId} is gone (HTTP ${status})`, { status, origin: 'gateway' })
              : undefined,
        },
        { onevent: (ev) => this.event(s, ev), onend: (err) => this.ended(s, err) },
      );
    });
  }

  private event(s: Opening, ev: EventSourceMessage): void {
    if (s.gen !== this.generation) return;
    if (ev.event === SSE_EVENT.session) return this.sessionEvent(s, ev.data);
    if (ev.event !== undefined && ev.event !== SSE_EVENT.message) return;
    if (!s.settled || this.state !== 'open') return;
    const id = eventId(ev.id);
    // The gateway continues after Last-Event-ID; never deliver an event twice anyway.
    if (id > 0 && id <= this.lastEventId) return;
    if (id > 0) this.lastEventId = id;
    this.reopens = 0;
    this.onmessage?.(ev.data);
  }

  private sessionEvent(s: Opening, data: string): void {
    let info: SessionEvent;
    try {
      info = parseSession(data);
    } catch (err) {
      return this.ended(s, new TransportError(`SSE stream sent a malformed session event (${(err as Error).message})`, { origin: 'gateway' }));
    }
    if (s.reopen && info.linkId !== this.linkId) return this.ended(s, new TransportError('SSE stream reopened on another link', { origin: 'gateway' }));
    if (s.settled) return;
    s.settled = true;
    this.clock.clearTimeout(s.timer);
    // Synchronously: frames may follow in the same chunk, before any await resumes.
    if (!s.reopen && this.state === 'connecting') {
      this.linkId = info.linkId;
      this.openUplink(info.postUrl, 'SSE link', () => this.watchFirstAnswer());
      this.state = 'open';
    }
    s.resolve(info);
  }

  /**
   * The stream ended, or could not be had. Before the session event, that rejects start()
   * (or the reopen); after it, the stream is lost and streamDropped() decides whether to reopen.
   */
  private ended(s: Opening, err: ReverseProxyError): void {
    this.clock.clearTimeout(s.timer);
    s.abort.abort();
    if (!s.settled) {
      s.settled = true;
      s.reject(err);
    } else if (s.gen === this.generation) {
      this.streamDropped(err);
    }
  }

  /**
   * A path may pass the padded start of the stream and then buffer the rest. The first
   * POST (the `register`) always gets an answer on the stream (register_ack, or an error
   * frame); if the gateway accepted it and nothing arrives within the open deadline, the
   * stream is buffered: end with ERR_TRANSPORT_BLOCKED so that the negotiator moves on.
   */
  private watchFirstAnswer(): void {
    if (this.firstAnswerWatched) return;
    this.firstAnswerWatched = true;
    if (this.lastEventId > 0) return;
    this.firstAnswerTimer = this.clock.setTimeout(() => {
      if (this.lastEventId > 0) return;
      this.lost(
        blockedAfterOpen(
          new TransportError(
            `SSE stream blocked (the gateway took our first frame but nothing came back on the stream within ${this.opts.openTimeoutMs} ms: something in the path buffers the event stream)`,
            { code: 'ERR_TRANSPORT_BLOCKED', origin: 'network' },
          ),
        ),
      );
    }, this.opts.openTimeoutMs);
  }

  private streamDropped(err: ReverseProxyError): void {
    if (this.state !== 'open') return;
    if (this.reopens >= MAX_REOPENS) {
      this.lost(new TransportError(`SSE stream lost ${MAX_REOPENS + 1} times in a row: ${err.message}`, { cause: err }));
      return;
    }
    this.reopens++;
    this.onerror?.(err);
    this.openStream().catch((e: ReverseProxyError) => this.lost(e));
  }
}

function parseSession(data: string): SessionEvent {
  const v = JSON.parse(data) as Partial<SessionEvent>;
  if (typeof v.linkId !== 'string' || v.linkId === '' || typeof v.postUrl !== 'string' || v.postUrl === '') {
    throw new Error('expected {"linkId","postUrl"}');
  }
  return { linkId: v.linkId, postUrl: v.postUrl };
}
