/**
 * One HTTP response of the modern (2026-07-28) MCP endpoint: either a single
 * `application/json` body, or a `text/event-stream` scoped to one request (notifications
 * about it, then its answer) or to a `subscriptions/listen` (S/…/streamable-http,
 * "Receiving Messages"). Modern streams carry no event ids: they are not resumable.
 */
import type { ServerResponse } from 'node:http';

export type ResponseMode = 'json' | 'sse';

export class ResponseWriter {
  private started = false;

  constructor(
    readonly res: ServerResponse,
    readonly mode: ResponseMode,
  ) {}

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  /** Bytes written but not yet taken by the client (a reader that stopped reading). */
  get buffered(): number {
    return this.res.writableLength;
  }

  /** SSE: send the headers now, so the client sees the stream open before the first event. */
  startStream(): void {
    if (this.mode !== 'sse' || this.started || !this.open) return;
    this.started = true;
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // S/…/streamable-http: so nginx and friends pass each event on at once.
      'X-Accel-Buffering': 'no',
    });
    this.res.flushHeaders();
    this.res.socket?.setNoDelay(true);
  }

  /** A message before the answer (SSE only; false when it could not be written). */
  event(msg: unknown): boolean {
    if (this.mode !== 'sse' || !this.open) return false;
    this.startStream();
    this.res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`);
    return true;
  }

  /** SSE comment: keeps idle-killing proxies and client timeouts away (S/…/streamable-http, Note). */
  comment(): void {
    if (this.mode === 'sse' && this.started && this.open) this.res.write(':\n\n');
  }

  /** The answer; ends the response. `status` applies to JSON answers only (an SSE stream is already 200). */
  finish(msg: unknown, status = 200): void {
    if (!this.open) return;
    if (this.mode === 'sse') {
      this.event(msg);
      this.res.end();
      return;
    }
    const text = JSON.stringify(msg);
    this.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    this.res.end(text);
  }

  end(): void {
    if (this.open) this.res.end();
  }
}
