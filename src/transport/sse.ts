/**
 * `sse` transport (docs/protocol.md §4.1): frames come down on one `text/event-stream`
 * from `GET {base}/reverse-proxy/sse`, and go up as NDJSON POSTs to the link's postUrl
 * (post-uplink.ts). start() resolves on the stream's `session` event. When that event
 * does not arrive within the first-event deadline, something in the path buffers the
 * stream (the gateway pads and flushes it at once): start() rejects with
 * ERR_TRANSPORT_BLOCKED, which is the negotiator's signal to try `poll`.
 *
 * A stream that drops while the link is alive is reopened (`?link=` + `Last-Event-ID`)
 * at most MAX_REOPENS times in a row; the gateway replays what we missed. A 404/409
 * (link gone, id too old) or a third drop ends the transport, and the tunnel resumes on
 * a new link with the ReliableChannel's replay.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { request, type Dispatcher } from 'undici';
import { TransportError, type ReverseProxyError } from '../errors.js';
import { authHeaders, eventId, linkUrl, refusalContext, type HttpLinkOptions } from './http-link.js';
import { flatHeaders, PostUplink } from './post-uplink.js';
import { blockedAfterOpen, refusalFromError, refusalFromStatus } from './refusal.js';
import type { Transport, TransportCloseInfo } from './transport.js';

const MAX_REOPENS = 2;
/** Bound on one event's buffered text; frames are at most a few MiB. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;
/** Time a closing transport gives queued POSTs (e.g. `unregister`). */
const CLOSE_FLUSH_MS = 2_000;

type State = 'idle' | 'connecting' | 'open' | 'closing' | 'closed';

interface SessionEvent {
  linkId: string;
  postUrl: string;
}

export class SseTransport implements Transport {
  readonly kind = 'sse' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  onerror?: (err: Error) => void;
  ondrain?: () => void;

  private readonly opts: HttpLinkOptions;
  private state: State = 'idle';
  private linkId: string | undefined;
  private lastEventId = 0;
  private reopens = 0;
  /** Each opened stream gets a generation; events of an older one are ignored. */
  private generation = 0;
  private streamAbort: AbortController | undefined;
  private firstAnswerWatched = false;
  private firstAnswerTimer: NodeJS.Timeout | undefined;
  private uplink: PostUplink | undefined;

  constructor(opts: HttpLinkOptions) {
    this.opts = opts;
  }

  get link(): string | undefined {
    return this.linkId;
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') throw new Error('SseTransport already started');
    this.state = 'connecting';
    try {
      await this.openStream();
    } catch (err) {
      this.finish({ reason: (err as Error).message, error: err as Error });
      throw err;
    }
    if ((this.state as State) !== 'open') throw new TransportError('SSE transport closed while opening');
  }

  private attach(session: SessionEvent): void {
    if (this.state !== 'connecting') return;
    this.linkId = session.linkId;
    this.uplink = new PostUplink({
      url: linkUrl(this.opts.base, `${this.opts.base}/reverse-proxy/sse`, session.postUrl),
      dispatcher: this.opts.dispatcher,
      ctx: refusalContext(this.opts, 'SSE link'),
      onfatal: (err) => this.lost(err),
      ondrain: () => this.ondrain?.(),
      onposted: () => this.watchFirstAnswer(),
      ...(this.opts.token ? { token: this.opts.token } : {}),
    });
    this.state = 'open';
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
    this.streamAbort?.abort();
    this.finish({ reason });
  }

  /** Open (or reopen) the event stream; resolves on its `session` event. */
  private openStream(): Promise<SessionEvent> {
    const o = this.opts;
    const reopen = this.linkId !== undefined;
    const gen = ++this.generation;
    const abort = new AbortController();
    this.streamAbort = abort;
    const url = `${o.base}/reverse-proxy/sse${reopen ? `?link=${encodeURIComponent(this.linkId!)}` : ''}`;
    const headers = authHeaders(o, { accept: 'text/event-stream', 'cache-control': 'no-cache' });
    if (reopen && this.lastEventId > 0) headers['last-event-id'] = String(this.lastEventId);
    const ctx = refusalContext(o, 'SSE stream');

    return new Promise<SessionEvent>((resolve, reject) => {
      let settled = false;
      // Before the session event, a failure rejects start()/the reopen; after it, the
      // stream is lost and lost() decides whether to reopen.
      const end = (err: ReverseProxyError): void => {
        clearTimeout(timer);
        abort.abort();
        if (!settled) {
          settled = true;
          reject(err);
        } else if (gen === this.generation) {
          this.streamDropped(err);
        }
      };
      const timer = setTimeout(() => {
        end(
          new TransportError(
            `SSE stream blocked (no session event within ${o.openTimeoutMs} ms: something in the path buffers the event stream)`,
            { code: 'ERR_TRANSPORT_BLOCKED', origin: 'network' },
          ),
        );
      }, o.openTimeoutMs);
      timer.unref();

      const parser = createParser({
        maxBufferSize: MAX_EVENT_CHARS,
        onEvent: (ev: EventSourceMessage) => {
          if (gen !== this.generation) return;
          if (ev.event === 'session') {
            let info: SessionEvent;
            try {
              info = parseSession(ev.data);
            } catch (err) {
              end(new TransportError(`SSE stream sent a malformed session event (${(err as Error).message})`, { origin: 'gateway' }));
              return;
            }
            if (reopen && info.linkId !== this.linkId) {
              end(new TransportError('SSE stream reopened on another link', { origin: 'gateway' }));
              return;
            }
            if (!settled) {
              settled = true;
              clearTimeout(timer);
              // Synchronously: frames may follow in the same chunk, before any await resumes.
              if (!reopen) this.attach(info);
              resolve(info);
            }
            return;
          }
          if (ev.event !== undefined && ev.event !== 'message') return;
          if (!settled || this.state !== 'open') return;
          const id = eventId(ev.id);
          // The gateway continues after Last-Event-ID; never deliver an event twice anyway.
          if (id > 0 && id <= this.lastEventId) return;
          if (id > 0) this.lastEventId = id;
          this.reopens = 0;
          this.onmessage?.(ev.data);
        },
        onError: (err) => end(new TransportError(`SSE stream unreadable (${err.message})`, { origin: 'network' })),
      });

      request(url, { method: 'GET', headers, dispatcher: o.dispatcher, signal: abort.signal }).then(
        (res: Dispatcher.ResponseData) => {
          const h = flatHeaders(res.headers);
          if (res.statusCode !== 200) {
            res.body.dump().catch(() => undefined);
            end(
              reopen && (res.statusCode === 404 || res.statusCode === 409)
                ? new TransportError(`SSE link ${this.linkId} is gone (HTTP ${res.statusCode})`, { status: res.statusCode, origin: 'gateway' })
                : refusalFromStatus(res.statusCode, h, ctx),
            );
            return;
          }
          if (!/^text\/event-stream/i.test(h['content-type'] ?? '')) {
            res.body.dump().catch(() => undefined);
            end(
              new TransportError(`SSE stream blocked (answered 200 with ${h['content-type'] ?? 'no content type'}, not an event stream)`, {
                status: 200,
                origin: 'network',
                code: 'ERR_TRANSPORT_BLOCKED',
              }),
            );
            return;
          }
          // undici's body ignores setEncoding; a StringDecoder keeps split UTF-8 sequences whole.
          const decoder = new StringDecoder('utf8');
          res.body.on('data', (chunk: Buffer) => parser.feed(decoder.write(chunk)));
          res.body.on('end', () => end(new TransportError('SSE stream ended by the gateway', { origin: 'network' })));
          res.body.on('error', (err) => {
            if (!abort.signal.aborted) end(refusalFromError(err, ctx));
          });
        },
        (err: unknown) => end(refusalFromError(err, ctx)),
      );
    });
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
    this.firstAnswerTimer = setTimeout(() => {
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
    this.firstAnswerTimer.unref();
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

  /** The link is unusable: close everything and report the error. */
  private lost(err: ReverseProxyError): void {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.streamAbort?.abort();
    void this.uplink?.close();
    this.finish({ reason: err.message, error: err });
  }

  private finish(info: TransportCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.firstAnswerTimer);
    this.onclose?.(info);
  }
}

function parseSession(data: string): SessionEvent {
  const v = JSON.parse(data) as Partial<SessionEvent>;
  if (typeof v.linkId !== 'string' || v.linkId === '' || typeof v.postUrl !== 'string' || v.postUrl === '') {
    throw new Error('expected {"linkId","postUrl"}');
  }
  return { linkId: v.linkId, postUrl: v.postUrl };
}
