/**
 * SSE answers of single requests, written by the gateway itself (docs/performance.md,
 * "Applied"): what the SDK transport does per POST — a web-standard Request and Response,
 * a ReadableStream, zod validation of the message, its priming event and the event store
 * — without the machinery. Taken for one JSON-RPC request a POST carries that must be
 * answered on a stream (json-responses.ts says which); batches, notifications, responses,
 * `initialize` and the standalone GET stream stay with the SDK transport.
 *
 * The guarantees are the SDK's (docs/gateway.md, "Resumable streams"): every event goes
 * into the session's bounded event store before it is written, with an id naming its
 * stream; a client of 2025-11-25 or later gets a priming event (an id and `retry:`) first;
 * a client that lost the stream reconnects with `GET` and `Last-Event-ID` and gets what it
 * missed, in order, once — and, while its request is still running, the rest on that GET.
 * A cursor older than the store's oldest event is refused (400), never answered with a gap.
 *
 * The store is synchronous underneath, so a replay and the attach of the resumed stream
 * happen with nothing in between: no event can fall between them or come twice.
 */
import type { ServerResponse } from 'node:http';
import { realClock, type Clock } from '../../clock.js';
import { rpcError, RpcErrorCode, type JsonRpcId, type JsonRpcMessage } from '../../protocol/jsonrpc.js';
import type { BoundedEventStore } from './event-store.js';

/** Stream ids of these streams start with it; the SDK's are UUIDs and `_GET_stream`. */
const STREAM_PREFIX = 'rq';
/** The SDK transport's default interval of keepalive comments. */
export const DEFAULT_KEEPALIVE_MS = 15_000;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

export interface RequestStreamsOptions {
  /** The session's event store; undefined when resuming is off (`--mcp-resume-bytes 0`). */
  store: BoundedEventStore | undefined;
  /** `retry:` of the priming event (ms). */
  retryMs: number;
  /** Keepalive comments on a stream waiting for its answer (ms); 0 = none. */
  keepaliveMs: number;
  clock?: Clock;
}

interface Stream {
  streamId: string;
  requestId: JsonRpcId;
  /** The connection the events go to; undefined while the client is away. */
  res: ServerResponse | undefined;
  keepalive: unknown;
}

/** How a `GET` with `Last-Event-ID` came out. */
export type ResumeOutcome = 'not_ours' | 'resumed' | { status: number; message: string };

export class RequestStreams {
  private readonly clock: Clock;
  private readonly byRequest = new Map<JsonRpcId, Stream>();
  private readonly byStreamId = new Map<string, Stream>();
  private next = 0;

  constructor(private readonly o: RequestStreamsOptions) {
    this.clock = o.clock ?? realClock;
  }

  has(id: JsonRpcId): boolean {
    return this.byRequest.has(id);
  }

  /** Open the stream request `id` is answered on: headers, and the priming event for a client that can resume. */
  begin(id: JsonRpcId, res: ServerResponse, sessionId: string, primed: boolean): void {
    const stream: Stream = { streamId: `${STREAM_PREFIX}${++this.next}`, requestId: id, res, keepalive: undefined };
    this.byRequest.set(id, stream);
    this.byStreamId.set(stream.streamId, stream);
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': sessionId });
    const store = this.o.store;
    if (primed && store) res.write(`id: ${store.store(stream.streamId, undefined)}\nretry: ${this.o.retryMs}\ndata: \n\n`);
    // Without an event yet, Node holds the headers back: send them now, the client waits on them.
    else res.flushHeaders();
    this.watch(stream, res);
  }

  /** Write `msg` if it belongs on one of these streams (the answer, or related to the request); false if not. */
  route(msg: JsonRpcMessage, relatedRequestId: JsonRpcId | undefined): boolean {
    const answer = !('method' in msg) && 'id' in msg;
    const stream = this.byRequest.get(answer ? (msg as { id: JsonRpcId }).id : (relatedRequestId as JsonRpcId));
    if (!stream || (!answer && relatedRequestId === undefined)) return false;
    const data = JSON.stringify(msg);
    const eventId = this.o.store?.store(stream.streamId, data);
    const event = `event: message\n${eventId !== undefined ? `id: ${eventId}\n` : ''}data: ${data}\n\n`;
    if (answer) this.finish(stream, event);
    else if (stream.res && !stream.res.destroyed) stream.res.write(event);
    return true;
  }

  /**
   * A `GET` with `Last-Event-ID`: `not_ours` leaves it to the SDK transport (its streams);
   * otherwise the missed events are replayed on `res`, which then carries the rest of the
   * request's events, or ends when the request was answered already.
   */
  resume(lastEventId: string, res: ServerResponse, sessionId: string): ResumeOutcome {
    const store = this.o.store;
    if (!store || !lastEventId.startsWith(STREAM_PREFIX)) return 'not_ours';
    const streamId = store.streamOf(lastEventId);
    if (streamId === undefined) return { status: 400, message: 'Invalid event ID format' };
    const live = this.byStreamId.get(streamId);
    if (live?.res && !live.res.destroyed && !live.res.writableEnded) return { status: 409, message: 'Conflict: Stream already has an active connection' };
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': sessionId });
    const missed = store.eventsAfter(lastEventId);
    const text = missed.map((e) => `event: message\nid: ${e.id}\ndata: ${e.data}\n\n`).join('');
    if (!live) {
      res.end(text);
      return 'resumed';
    }
    if (text) res.write(text);
    else res.flushHeaders();
    live.res = res;
    this.watch(live, res);
    return 'resumed';
  }

  /** The session closed: no answer will come; each waiting client gets an error on its stream. */
  closeAll(): void {
    for (const stream of [...this.byRequest.values()]) {
      const msg = rpcError(stream.requestId, RpcErrorCode.InternalError, 'MCP session closed before the answer');
      this.finish(stream, `event: message\ndata: ${JSON.stringify(msg)}\n\n`);
    }
  }

  private finish(stream: Stream, lastEvent: string): void {
    this.byRequest.delete(stream.requestId);
    this.byStreamId.delete(stream.streamId);
    this.clock.clearTimeout(stream.keepalive);
    if (stream.res && !stream.res.destroyed) stream.res.end(lastEvent);
    stream.res = undefined;
  }

  /** Keepalive comments while `res` waits, and forget it when the client hangs up. */
  private watch(stream: Stream, res: ServerResponse): void {
    res.once('close', () => {
      if (stream.res !== res) return;
      // The client went away: the request goes on; its events wait in the store for a resume.
      stream.res = undefined;
      this.clock.clearTimeout(stream.keepalive);
    });
    if (this.o.keepaliveMs <= 0) return;
    const tick = (): void => {
      if (stream.res !== res || res.destroyed) return;
      res.write(': keepalive\n\n');
      stream.keepalive = this.clock.setTimeout(tick, this.o.keepaliveMs);
    };
    this.clock.clearTimeout(stream.keepalive);
    stream.keepalive = this.clock.setTimeout(tick, this.o.keepaliveMs);
  }
}
