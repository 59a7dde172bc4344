/**
 * One error hierarchy for the whole package. `code` is the stable API (tests, docs and
 * exit reasons key on it); `message` is for people. The class decides whether a retry can
 * help, so reconnect policy never has to parse messages.
 */
export type ErrorCode =
  | 'ERR_USAGE'
  | 'ERR_CONFIG'
  | 'ERR_AUTH_REJECTED'
  | 'ERR_PROXY_AUTH'
  | 'ERR_TLS'
  | 'ERR_TRANSPORT'
  | 'ERR_TRANSPORT_BLOCKED'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_PEER_DEAD'
  | 'ERR_PROTOCOL'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_QUEUE_FULL'
  | 'ERR_MAX_RETRIES'
  | 'ERR_LOCAL_SERVER'
  | 'ERR_LOCAL_SERVER_EXIT'
  | 'ERR_INIT_TIMEOUT'
  | 'ERR_SESSION_CLOSED';

export class ReverseProxyError extends Error {
  readonly code: ErrorCode;
  /** True when trying again later (reconnect, next transport) can succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Bad command line, config file or environment value. Never retryable. */
export class ConfigError extends ReverseProxyError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_CONFIG', message, options);
  }
}

/** The gateway answered 401/403: the token is wrong, expired or not allowed. */
export class AuthRejectedError extends ReverseProxyError {
  readonly status: number;
  constructor(status: number, detail = '') {
    super(
      'ERR_AUTH_REJECTED',
      `gateway rejected the token (HTTP ${status})${detail ? `: ${detail}` : ''}; check --token / REVERSE_PROXY_TOKEN`,
    );
    this.status = status;
  }
}

/**
 * The HTTP proxy answered 407 (src/net/proxy-auth/ says which scheme and why when it ran
 * the handshake). Retrying with the same credentials or ticket cannot help.
 */
export class ProxyAuthError extends ReverseProxyError {
  constructor(proxy: string, message?: string) {
    super(
      'ERR_PROXY_AUTH',
      message ?? `proxy ${proxy} requires authentication (HTTP 407): put percent-encoded credentials in the proxy URL (http://user:pass@host:port)`,
    );
  }
}

/** Certificate problem talking to the gateway (or to a TLS proxy). */
export class TlsError extends ReverseProxyError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_TLS', message, options);
  }
}

/** A transport failed to open or broke. Retryable: reconnect or try another transport. */
export class TransportError extends ReverseProxyError {
  /** HTTP status of a failed handshake, when one was seen. */
  readonly status?: number;
  /** Where the status came from: the gateway itself or a proxy in between. */
  readonly origin?: 'gateway' | 'proxy' | 'network';
  constructor(
    message: string,
    options: { cause?: unknown; status?: number; origin?: 'gateway' | 'proxy' | 'network'; code?: ErrorCode } = {},
  ) {
    super(options.code ?? 'ERR_TRANSPORT', message, { cause: options.cause, retryable: true });
    if (options.status !== undefined) this.status = options.status;
    if (options.origin !== undefined) this.origin = options.origin;
  }
}

/** Malformed frame or envelope from the peer. The frame is dropped; the session goes on. */
export class ProtocolError extends ReverseProxyError {
  constructor(message: string, code: ErrorCode = 'ERR_PROTOCOL') {
    super(code, message);
  }
}

/** The outbox would exceed its byte bound. */
export class QueueFullError extends ReverseProxyError {
  constructor(bytes: number, limit: number) {
    super('ERR_QUEUE_FULL', `tunnel queue is full (${bytes} of ${limit} bytes): the tunnel is saturated`, {
      retryable: true,
    });
  }
}

export class LocalServerError extends ReverseProxyError {
  constructor(code: 'ERR_LOCAL_SERVER' | 'ERR_LOCAL_SERVER_EXIT' | 'ERR_INIT_TIMEOUT', message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof ReverseProxyError ? err.retryable : true;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
