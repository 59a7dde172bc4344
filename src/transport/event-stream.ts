/**
 * One `text/event-stream` response read as events (the downlink of the `sse` transport):
 * GET it, check that it is one (a 200 of another content type is something in the path
 * answering for the gateway: ERR_TRANSPORT_BLOCKED), decode it as UTF-8 across chunk
 * boundaries and hand each event over. Every way it ends is one `onend(err)`; aborting
 * the signal ends it silently.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { request, type Dispatcher } from 'undici';
import { TransportError, type ReverseProxyError } from '../errors.js';
import { flatHeaders } from './post-uplink.js';
import { refusalFromError, refusalFromStatus, type RefusalContext } from './refusal.js';

/** Bound on one event's buffered text; frames are at most a few MiB. */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export interface EventStreamRequest {
  url: string;
  headers: Record<string, string>;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  ctx: RefusalContext;
  /** A non-200 status that means something more specific than a refusal (a reopened link that is gone). */
  statusError?: (status: number) => ReverseProxyError | undefined;
}

export interface EventStreamHandlers {
  onevent(ev: EventSourceMessage): void;
  /** The stream ended or could not be had; not called after the signal aborted it. */
  onend(err: ReverseProxyError): void;
}

export function readEventStream(r: EventStreamRequest, h: EventStreamHandlers): void {
  const parser = createParser({
    maxBufferSize: MAX_EVENT_CHARS,
    onEvent: (ev) => h.onevent(ev),
    onError: (err) => h.onend(new TransportError(`SSE stream unreadable (${err.message})`, { origin: 'network' })),
  });
  request(r.url, { method: 'GET', headers: r.headers, dispatcher: r.dispatcher, signal: r.signal }).then(
    (res: Dispatcher.ResponseData) => {
      const headers = flatHeaders(res.headers);
      if (res.statusCode !== 200) {
        res.body.dump().catch(() => undefined);
        h.onend(r.statusError?.(res.statusCode) ?? refusalFromStatus(res.statusCode, headers, r.ctx));
        return;
      }
      if (!/^text\/event-stream/i.test(headers['content-type'] ?? '')) {
        res.body.dump().catch(() => undefined);
        h.onend(
          new TransportError(`SSE stream blocked (answered 200 with ${headers['content-type'] ?? 'no content type'}, not an event stream)`, {
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
      res.body.on('end', () => h.onend(new TransportError('SSE stream ended by the gateway', { origin: 'network' })));
      res.body.on('error', (err) => {
        if (!r.signal.aborted) h.onend(refusalFromError(err, r.ctx));
      });
    },
    (err: unknown) => h.onend(refusalFromError(err, r.ctx)),
  );
}
