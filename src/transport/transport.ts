/**
 * A Transport is a dumb, ordered pipe of text frames (one serialized envelope each)
 * between the tunnel client and the gateway. It knows nothing of MCP, seq or ack: the
 * ReliableChannel above it does, which is what lets a session move from `ws` to `sse`
 * or `poll` mid-flight without losing or duplicating anything.
 *
 * Contract (after the MCP SDK's Transport):
 * - Set the handlers, then call `start()`. It resolves once frames can be sent
 *   (WebSocket open, SSE `session` event seen, ...) and rejects with a TransportError /
 *   AuthRejectedError / ProxyAuthError / TlsError that says why it could not open.
 * - `send()` never throws for a closed pipe: frames sent after close are dropped (the
 *   ReliableChannel keeps them in its outbox and replays them on the next transport).
 *   It returns false when the pipe is congested: the frame was taken, but the caller
 *   should send no more data until `ondrain` (the ReliableChannel keeps them queued).
 *   `bytes`, when given, is the frame's UTF-8 length (the channel knows it), so that no
 *   layer below has to count it again.
 * - `ondrain` fires once after a send() that returned false, when the pipe has room again.
 * - `onmessage` gets each inbound frame, in order, synchronously as it is parsed: its text,
 *   or its parsed value when the transport had to parse a larger document to find it (a
 *   poll answer), so that it is not serialized and parsed again;
 *   one read may carry many frames (register_ack and the replay right behind it), so the
 *   consumer must be ready for the next frame before it has awaited anything (TunnelClient
 *   keeps what arrives behind register_ack until the session is set up).
 * - `onclose` fires exactly once, also after `close()` and after a failed `start()`.
 * - `onerror` reports non-fatal problems; fatal ones end in `onclose` with the error.
 * - `close()` is idempotent.
 */
export type TransportKind = 'ws' | 'sse' | 'poll';

/** One inbound frame: its JSON text, or the value already parsed from it. */
export type InboundFrame = string | ParsedFrame;

export interface ParsedFrame {
  /** Any JSON value: the envelope parser judges whether it is a frame. */
  readonly json: unknown;
}

export interface TransportCloseInfo {
  /** The error that ended the pipe; undefined for a local close(). */
  error?: Error;
  /** Human-readable reason, for logs. */
  reason: string;
}

export interface Transport {
  readonly kind: TransportKind;
  onmessage?: (frame: InboundFrame) => void;
  onclose?: (info: TransportCloseInfo) => void;
  onerror?: (err: Error) => void;
  ondrain?: () => void;
  start(): Promise<void>;
  send(frame: string, bytes?: number): boolean;
  close(reason?: string): Promise<void>;
}

/**
 * The gateway's end of one transport connection (a WebSocket, an SSE stream with its
 * POSTs, or a series of long polls). Same shape and same contract as Transport, seen
 * from the other side: TunnelSession attaches to whichever link the client came in on.
 */
export interface TunnelLink {
  readonly kind: TransportKind;
  onmessage?: (frame: string) => void;
  onclose?: (info: TransportCloseInfo) => void;
  ondrain?: () => void;
  /** `bytes`: the frame's UTF-8 length, when the caller knows it. */
  send(frame: string, bytes?: number): boolean;
  /** `code`: the WebSocket close code, when the link is a WebSocket (default 1000). */
  close(reason?: string, code?: number): void;
}
