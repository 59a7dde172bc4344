/**
 * `ws` transport: one WebSocket to `{base}/reverse-proxy/ws`, text frames, both ways.
 * undici's WebSocket carries the project's dispatcher (proxy, CA, client cert).
 *
 * Congestion: send() says false once `bufferedAmount` passes the high-water mark. undici's
 * WebSocket has no drain event, so while congested bufferedAmount is checked every
 * DRAIN_CHECK_MS; `ondrain` fires once it is down to half the mark.
 */
import { WebSocket, type Dispatcher } from 'undici';
import { TransportError, type ReverseProxyError } from '../errors.js';
import { ATTEMPT_HEADER, observeHandshake } from './handshake-observer.js';
import { refusalFromError, refusalFromStatus } from './refusal.js';
import type { Transport, TransportCloseInfo } from './transport.js';

export interface WebSocketTransportOptions {
  url: string;
  token?: string;
  dispatcher: Dispatcher;
  handshakeTimeoutMs: number;
  /** Redacted proxy URL, when one is in the path (for messages only). */
  proxy?: string;
  /** bufferedAmount above which send() reports congestion. */
  highWaterMark?: number;
}

type State = 'idle' | 'connecting' | 'open' | 'closed';

/** bufferedAmount above which send() reports congestion, unless the options say otherwise. */
export const WS_HIGH_WATER_BYTES = 1024 * 1024;
const DRAIN_CHECK_MS = 10;

export class WebSocketTransport implements Transport {
  readonly kind = 'ws' as const;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  onerror?: (err: Error) => void;
  ondrain?: () => void;

  private ws: WebSocket | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private state: State = 'idle';
  private readonly opts: WebSocketTransportOptions;

  constructor(opts: WebSocketTransportOptions) {
    this.opts = opts;
  }

  start(): Promise<void> {
    if (this.state !== 'idle') return Promise.reject(new Error('WebSocketTransport already started'));
    this.state = 'connecting';
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
      const timer = setTimeout(() => {
        fail(
          new TransportError(`WebSocket handshake did not complete within ${handshakeTimeoutMs} ms`, {
            code: 'ERR_HANDSHAKE_TIMEOUT',
            origin: 'network',
          }),
        );
      }, handshakeTimeoutMs);
      timer.unref();
      const cleanup = (): void => {
        clearTimeout(timer);
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
    if (this.drainTimer) return;
    const check = (): void => {
      this.drainTimer = undefined;
      if (this.state !== 'open') return;
      if (ws.bufferedAmount > low) {
        this.drainTimer = setTimeout(check, DRAIN_CHECK_MS).unref();
        return;
      }
      this.ondrain?.();
    };
    this.drainTimer = setTimeout(check, DRAIN_CHECK_MS).unref();
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

  private finish(info: TransportCloseInfo): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.drainTimer);
    this.onclose?.(info);
  }
}
