/**
 * Turn "the handshake did not work" into the one error that says what to do about it.
 * Three different worlds must not be confused (docs/corporate-networks.md):
 * - the gateway refused us (401/403 from the gateway): stop, the token is the problem;
 * - the proxy wants credentials (407): stop, the proxy URL needs user:pass;
 * - the network blocks this transport (CONNECT refused, Upgrade stripped → 200/426,
 *   403 from the proxy, reset, deadline): fall back to the next transport.
 */
import { GATEWAY_MARKER_HEADER } from '../protocol/constants.js';
import { recentTlsAlert } from '../net/tls-alerts.js';
import { ProxyUnreachableError, TunnelRefusedError } from '../net/proxy-tunnel.js';
import { AuthRejectedError, ProxyAuthError, TlsError, TransportError, ReverseProxyError } from '../errors.js';

export interface RefusalContext {
  /** Redacted proxy URL when a proxy is in the path. */
  proxy?: string;
  /** What was being opened, for messages ("WebSocket", "SSE stream"). */
  what: string;
  /** Host of the gateway, for TLS messages. */
  host: string;
}

function looksLikeProxyResponse(headers: Record<string, string> | undefined): boolean {
  if (!headers) return false;
  if (headers[GATEWAY_MARKER_HEADER] !== undefined) return false;
  return (
    headers['x-squid-error'] !== undefined ||
    headers['proxy-authenticate'] !== undefined ||
    headers['proxy-connection'] !== undefined ||
    headers['via'] !== undefined ||
    /squid|tinyproxy|proxy/i.test(headers['server'] ?? '')
  );
}

export function refusalFromStatus(
  status: number,
  headers: Record<string, string> | undefined,
  ctx: RefusalContext,
): ReverseProxyError {
  if (status === 407) return new ProxyAuthError(ctx.proxy ?? 'in the path');
  const fromProxy = ctx.proxy !== undefined && looksLikeProxyResponse(headers);
  if ((status === 401 || status === 403) && !fromProxy) return new AuthRejectedError(status);
  if (fromProxy) {
    return new TransportError(`${ctx.what} blocked (proxy answered ${status})`, {
      status,
      origin: 'proxy',
      code: 'ERR_TRANSPORT_BLOCKED',
    });
  }
  if (status === 200 || status === 426) {
    return new TransportError(
      `${ctx.what} blocked (upgrade answered ${status}${status === 200 ? ' without upgrading' : ' Upgrade Required'}: something in the path strips the Upgrade header)`,
      { status, origin: 'network', code: 'ERR_TRANSPORT_BLOCKED' },
    );
  }
  return new TransportError(`${ctx.what} refused (HTTP ${status})`, {
    status,
    origin: 'gateway',
    code: status === 404 || status === 405 || status >= 500 ? 'ERR_TRANSPORT_BLOCKED' : 'ERR_TRANSPORT',
  });
}

const TLS_CODES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by a CA we trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by a CA we trust',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate chain ends in a CA we do not trust',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it presented a self-signed certificate',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate does not name this host',
};

/** Find the most specific cause in undici's nested errors. */
export function rootCause(err: unknown): (Error & { code?: string }) | undefined {
  let e: unknown = err;
  let last: (Error & { code?: string }) | undefined;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    last = e as Error & { code?: string };
    // Some codes are numbers (DOMException's legacy codes): only Node/undici string codes count.
    if (typeof last.code === 'string' && last.code !== '' && !last.code.startsWith('UND_ERR_')) return last;
    e = (e as { cause?: unknown }).cause;
  }
  return last;
}

export function refusalFromError(err: unknown, ctx: RefusalContext): ReverseProxyError {
  const chain: string[] = [];
  for (let e: unknown = err, d = 0; d < 6 && e instanceof Error; d++, e = (e as { cause?: unknown }).cause) {
    // Our own CONNECT tunnel (src/net/proxy-tunnel.ts) already says what went wrong.
    if (e instanceof ReverseProxyError) return e;
    if (e instanceof TunnelRefusedError) return connectRefused(e.status, ctx, err);
    if (e instanceof ProxyUnreachableError) {
      const unreachable = new TransportError(`${ctx.what} to ${ctx.host} failed: ${e.message}`, { origin: 'proxy', cause: err });
      proxyFailures.add(unreachable);
      return unreachable;
    }
    chain.push(e.message);
  }
  const text = chain.join(' ');
  // undici: CONNECT refused → "Proxy response (403) !== 200 when HTTP Tunneling";
  // forwarding mode and 407 → "Proxy Authentication Required (407)".
  if (/Proxy Authentication Required \(407\)/.test(text)) return new ProxyAuthError(ctx.proxy ?? 'in the path');
  const proxyMatch = /Proxy response \((\d{3})\)/.exec(text);
  if (proxyMatch) {
    const status = Number(proxyMatch[1]);
    if (status === 407) return new ProxyAuthError(ctx.proxy ?? 'in the path');
    return connectRefused(status, ctx, err);
  }
  let root = rootCause(err);
  // undici reports a TLS 1.3 alert (client certificate required or rejected) as "other
  // side closed"; the socket saw the alert (src/net/tls-alerts.ts).
  if (root && (root.code === 'UND_ERR_SOCKET' || root.code === 'ECONNRESET')) root = recentTlsAlert(ctx.host) ?? root;
  const code = root?.code ?? '';
  const alert = `${code} ${root?.message ?? ''}`;
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(alert)) {
    return new TlsError(
      `TLS handshake with ${ctx.host} refused: the server requires a client certificate (${code || 'TLS alert'}); pass --cert <cert.pem> --key <key.pem>`,
      { cause: err },
    );
  }
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|ACCESS_DENIED)/i.test(alert)) {
    return new TlsError(
      `TLS handshake with ${ctx.host} refused: the server rejected our client certificate (${code}); check --cert/--key (signed by a CA the server trusts, not expired)`,
      { cause: err },
    );
  }
  if (code in TLS_CODES || (!/alert/i.test(alert) && /certificate|self.signed/i.test(root?.message ?? ''))) {
    const why = TLS_CODES[code] ?? root?.message ?? 'certificate verification failed';
    return new TlsError(
      `TLS certificate problem with ${ctx.host}: ${why} (${code || 'TLS'}). If the gateway or a TLS-inspecting proxy uses a private CA, pass --ca-file <ca.pem> (or NODE_EXTRA_CA_CERTS); verification is never turned off`,
      { cause: err },
    );
  }
  if (/certificate required|alert.*(certificate|handshake)|SSLV3_ALERT/i.test(chain.join(' '))) {
    return new TlsError(
      `TLS handshake with ${ctx.host} refused: the server requires a client certificate; pass --cert <cert.pem> --key <key.pem>`,
      { cause: err },
    );
  }
  const detail = root?.code ? `${root.code}${root.message ? `: ${root.message}` : ''}` : (root?.message ?? 'connection failed');
  // A reset or a closed socket during the handshake is how DPI firewalls and some proxies
  // block a transport; "nobody listens" / "no such host" is not: that is retried in place.
  const reset = RESET_CODES.has(code) || /other side closed|socket hang up/i.test(text);
  return new TransportError(`${ctx.what} to ${ctx.host} failed (${detail})`, {
    origin: 'network',
    cause: err,
    ...(reset ? { code: 'ERR_TRANSPORT_BLOCKED' as const } : {}),
  });
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function connectRefused(status: number, ctx: RefusalContext, cause: unknown): TransportError {
  const refusal = new TransportError(`${ctx.what} blocked (proxy answered ${status} to CONNECT)`, {
    status,
    origin: 'proxy',
    code: 'ERR_TRANSPORT_BLOCKED',
    cause,
  });
  connectRefusals.add(refusal);
  return refusal;
}

const connectRefusals = new WeakSet<object>();
const proxyFailures = new WeakSet<object>();

/** True for "nothing answers at the proxy's address": a PAC list moves on to its next entry. */
export function isProxyUnreachable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && proxyFailures.has(err);
}
const bufferedPaths = new WeakSet<object>();

/**
 * Tag an error that ends an *open* transport because the path turns out to block it
 * (an SSE stream buffered after its first bytes): the negotiator steps down for the next
 * attempt. Other failures after open (resets, a lost POST) are not evidence of blocking.
 */
export function blockedAfterOpen<E extends object>(err: E): E {
  bufferedPaths.add(err);
  return err;
}

export function isBlockedAfterOpen(err: unknown): boolean {
  return typeof err === 'object' && err !== null && bufferedPaths.has(err);
}

/** True for "the proxy refused CONNECT" (not 407): forwarding mode may still work. */
export function isConnectRefusal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && connectRefusals.has(err);
}

/**
 * How the negotiator treats a failed open:
 * - fatal: auth rejected, proxy credentials, TLS, config: no transport or retry can help;
 * - blocked: this network blocks this transport: try the next one;
 * - retry: the gateway (or proxy) is unreachable or hiccupped: stay, back off, retry.
 */
export function failureKind(err: unknown): 'fatal' | 'blocked' | 'retry' {
  if (err instanceof ReverseProxyError) {
    if (!err.retryable) return 'fatal';
    if (err.code === 'ERR_TRANSPORT_BLOCKED' || err.code === 'ERR_HANDSHAKE_TIMEOUT') return 'blocked';
  }
  return 'retry';
}
