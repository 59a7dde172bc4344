/**
 * `ws` transport: one WebSocket to `{base}/reverse-proxy/ws`, text frames, both ways.
 * undici's WebSocket carries the project's dispatcher (proxy, CA, client cert).
 *
 * Congestion: send() says false once `bufferedAmount` passes the high-water mark. undici's
 * WebSocket has no drain event, so while congested bufferedAmount is checked every
 * DRAIN_CHECK_MS; `ondrain` fires once it is down to half the mark.
 */
import { WebSocket, type Dispatcher } from 'undici';
import { realClock, type Clock } from '../clock.js';
import { TransportError, type ReverseProxyError } from '../errors.js';
import { ATTEMPT_HEADER, observeHandshake } from './handshake-observer.js';
import { refusalFromError, refusalFromStatus } from './refusal.js';
import { TransportBase } from './transport-base.js';

export interface WebSocketTransportOptions {
  url: string;
  token?: string;
  dispatcher: Dispatcher;
  handshakeTimeoutMs: number;
  /** Redacted proxy URL, when one is in the path (for messages only). */
  proxy?: string;
  /** bufferedAmount above which send() reports congestion. */
  highWaterMark?: number;
  clock?: Clock;
}

/** bufferedAmount above which send() reports congestion, unless the options say otherwise. */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;
const DRAIN_CHECK_MS = 10;

export class WebSocketTransport extends TransportBase {
  readonly kind = 'ws' as const;

  private ws: WebSocket | undefined;
  private drainTimer: unknown;
  private readonly clock: Clock;

  constructor(private readonly opts: WebSocketTransportOptions) {
    super();
    this.clock = opts.clock ?? realClock;
  }

  start(): Promise<void> {
    try {
      this.beginStart();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const { url, token, dispatcher, handshakeTimeoutMs } = this.opts;
    const attempt = observeHandshake();
    const headers: Record<string, string> = { [ATTEMPT_HEADER]: attempt.id };
    if (token) headers.authorization = `Bearer ${token}`;
    const ctx = { what: 'WebSocket', host: new URL(url).host, ...(this.opts.proxy ? { proxy: this.opts.proxy } : {}) };

    return new Promise<void>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url, { dispatcher, headers } as unknown as string[]);
      } catch (err) {
        attempt.done();
        this.finish({ reason: 'invalid URL', error: err as Error });
        reject(err);
        return;
      }
      this.ws = ws;
      let settled = false;
      const fail = (err: ReverseProxyError): void => {
        if (settled) return;
        settled = true;
        cleanup();
        try {
          ws.close();
        } catch {
          // already closing
        }
        this.finish({ reason: err.message, error: err });
        reject(err);
      };
      const timer = this.clock.setTimeout(() => {
        fail(
          new TransportError(`WebSocket handshake did not complete within ${handshakeTimeoutMs} ms`, {
            code: 'ERR_HANDSHAKE_TIMEOUT',
            origin: 'network',
          }),
        );
      }, handshakeTimeoutMs);
      const cleanup = (): void => {
        this.clock.clearTimeout(timer);
        attempt.done();
        ws.removeEventListener('open', onOpen);
        ws.removeEventListener('close', onEarlyClose);
      };
      const onOpen = (): void => {
        if (settled) return;
        settled = true;
        cleanup();
        this.state = 'open';
        ws.addEventListener('message', (ev) => {
          if (this.state !== 'open') return;
          const data = ev.data;
          this.onmessage?.(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer).toString('utf8'));
        });
        ws.addEventListener('close', (ev) => {
          const clean = ev.code === 1000;
          this.finish({
            reason: `WebSocket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`,
            ...(clean ? {} : { error: new TransportError(`WebSocket closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`) }),
          });
        });
        resolve();
      };
      const onEarlyClose = (): void => {
        const o = attempt.outcome;
        // An HTTP status that arrived says more than the abort undici records afterwards.
        if (o.proxyStatus !== undefined) fail(refusalFromError(o.error, ctx));
        else if (o.status !== undefined && o.status !== 101) fail(refusalFromStatus(o.status, o.headers, ctx));
        else if (o.error) fail(refusalFromError(o.error, ctx));
        else fail(new TransportError('WebSocket connection failed before the handshake completed', { origin: 'network' }));
      };
      ws.addEventListener('open', onOpen);
      // 'error' always precedes 'close' for a failed handshake; decide once, on close.
      ws.addEventListener('error', () => undefined);
      ws.addEventListener('close', onEarlyClose);
    });
  }

  send(frame: string): boolean {
    const ws = this.ws;
    if (this.state !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(frame);
    const high = this.opts.highWaterMark ?? WS_HIGH_WATER_BYTES;
    if (ws.bufferedAmount < high) return true;
    this.watchDrain(ws, high / 2);
    return false;
  }

  private watchDrain(ws: WebSocket, low: number): void {
    if (this.drainTimer !== undefined) return;
    const check = (): void => {
      this.drainTimer = undefined;
      if (this.state !== 'open') return;
      if (ws.bufferedAmount > low) {
        this.drainTimer = this.clock.setTimeout(check, DRAIN_CHECK_MS);
        return;
      }
      this.ondrain?.();
    };
    this.drainTimer = this.clock.setTimeout(check, DRAIN_CHECK_MS);
  }

  async close(reason = 'closed by client'): Promise<void> {
    if (this.state === 'closed') return;
    const ws = this.ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try {
        ws.close(1000, reason.slice(0, 120));
      } catch {
        // ignore: closing anyway
      }
    }
    this.finish({ reason });
  }

  protected override released(): void {
    this.clock.clearTimeout(this.drainTimer);
  }
}
