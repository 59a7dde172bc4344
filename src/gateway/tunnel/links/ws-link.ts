/**
 * The gateway's end of a tunnel WebSocket, as a TunnelLink (transport/transport.ts).
 * A dumb pipe of text frames: no envelopes, no seq/ack.
 *
 * `onclose` fires exactly once: on the socket's close event, or at once on a local
 * close() — a dead peer never answers the closing handshake, and ws only destroys the
 * socket after its own 30 s close timeout, so waiting for it would delay the session.
 *
 * Congestion: send() says false once more than HIGH_WATER_BYTES wait in the socket (a
 * client that stops reading); `ondrain` follows the socket's own 'drain'.
 */
import type { WebSocket, RawData } from 'ws';
import { LinkBase } from './link.js';

/** Close codes we send (RFC 6455 §7.4). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  policyViolation: 1008,
  tooBig: 1009,
} as const;

/** Bytes waiting in the socket above which send() reports congestion. */
export const HIGH_WATER_BYTES = 1024 * 1024;

/** The parts of ws's (long-stable) underlying net.Socket we use. */
interface RawSocket {
  cork(): void;
  uncork(): void;
  once(event: 'drain', fn: () => void): void;
  off(event: 'drain', fn: () => void): void;
}

export class WsLink extends LinkBase {
  readonly kind = 'ws' as const;

  private corked = false;
  private awaitingDrain = false;
  private readonly cleanup: () => void;

  constructor(private readonly ws: WebSocket) {
    super();
    const onMessage = (data: RawData, isBinary: boolean): void => {
      if (!this.open) return;
      // Frames are text; a binary frame is still decoded so the envelope parser can say what is wrong.
      const text = isBinary || typeof data !== 'string' ? rawToString(data) : data;
      this.onmessage?.(text);
    };
    const onClose = (code: number, reason: Buffer): void => {
      const why = reason.toString('utf8');
      this.finish({ reason: `websocket closed (code ${code}${why ? `: ${why}` : ''})` });
    };
    const onError = (err: Error): void => {
      // ws emits 'close' after 'error'; report the error as the cause of that close.
      this.finish({ error: err, reason: `websocket error: ${err.message}` });
      // A bad frame from the peer (1009 too big, 1002/1007 protocol): ws has sent the close
      // frame with that code. Terminating now would reset the connection under it (the peer
      // would see 1006); ws's own close timeout bounds the handshake instead.
      if (ws.readyState !== ws.CLOSING) ws.terminate();
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    this.cleanup = () => {
      this.socket()?.off('drain', this.onSocketDrain);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      ws.off('error', onError);
      // Keep one error listener: an unhandled 'error' would crash the process.
      ws.on('error', () => {});
    };
  }

  send(frame: string): boolean {
    if (!this.open || this.ws.readyState !== this.ws.OPEN) return false;
    // Coalesce the frames of one tick into one writev: under load most of the gateway's
    // busy time was a syscall per frame. `_socket` is ws's (long-stable) underlying socket.
    const socket = this.socket();
    if (socket && !this.corked) {
      this.corked = true;
      socket.cork();
      process.nextTick(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    this.ws.send(frame);
    if (this.ws.bufferedAmount < HIGH_WATER_BYTES) return true;
    // Over 16 KiB the socket's write() said false too, so its 'drain' will come.
    if (!this.awaitingDrain && socket) {
      this.awaitingDrain = true;
      socket.once('drain', this.onSocketDrain);
    }
    return false;
  }

  private readonly onSocketDrain = (): void => {
    this.awaitingDrain = false;
    if (this.open) this.ondrain?.();
  };

  private socket(): RawSocket | undefined {
    return (this.ws as unknown as { _socket?: RawSocket })._socket;
  }

  close(reason = 'closed by gateway', code: number = WS_CLOSE.normal): void {
    if (!this.open) return;
    // Close reasons are limited to 123 bytes by RFC 6455.
    const short = Buffer.from(reason).subarray(0, 123).toString('utf8').replace(/\uFFFD+$/, '');
    try {
      this.ws.close(code, short);
    } catch {
      this.ws.terminate();
    }
    this.finish({ reason });
  }

  protected released(): void {
    this.cleanup();
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
