/**
 * Turn "the handshake did not work" into the one error that says what to do about it.
 * Three different worlds must not be confused (docs/corporate-networks.md):
 * - the gateway refused us (401/403 from the gateway): stop, the token is the problem;
 * - the proxy wants credentials (407): stop, the proxy URL needs user:pass;
 * - the network blocks this transport (CONNECT refused, Upgrade stripped → 200/426,
 *   403 from the proxy, reset, deadline): fall back to the next transport.
 */
import { GATEWAY_MARKER_HEADER } from '../protocol/envelope.js';
import { AuthRejectedError, ProxyAuthError, TlsError, TransportError, type ReverseProxyError } from '../errors.js';


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
    if (last.code && last.code !== 'UND_ERR_SOCKET' && last.code !== 'UND_ERR_ABORTED' && !last.code.startsWith('UND_ERR_')) return last;
    e = (e as { cause?: unknown }).cause;
  }
  return last;
}

export function refusalFromError(err: unknown, ctx: RefusalContext): ReverseProxyError {
  const chain: string[] = [];
  for (let e: unknown = err, d = 0; d < 6 && e instanceof Error; d++, e = (e as { cause?: unknown }).cause) {
    chain.push(e.message);
  }
  const proxyMatch = /Proxy response \((\d{3})\)/.exec(chain.join(' '));
  if (proxyMatch) {
    const status = Number(proxyMatch[1]);
    if (status === 407) return new ProxyAuthError(ctx.proxy ?? 'in the path');
    return new TransportError(`${ctx.what} blocked (proxy answered ${status} to CONNECT)`, {
      status,
      origin: 'proxy',
      code: 'ERR_TRANSPORT_BLOCKED',
      cause: err,
    });
  }
  const root = rootCause(err);
  const code = root?.code ?? '';
  if (code in TLS_CODES || /certificate|self.signed/i.test(root?.message ?? '')) {
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
  return new TransportError(`${ctx.what} to ${ctx.host} failed (${detail})`, { origin: 'network', cause: err });
}
