/**
 * One undici dispatcher per tunnel carries the WebSocket handshake, the SSE stream and
 * the POSTs alike, so proxy and TLS settings are decided in one place.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from 'undici';
import { ConfigError } from '../errors.js';

export interface DispatcherOptions {
  /** Explicit proxy URL (overrides the environment). */
  proxy?: string;
  caFile?: string;
  cert?: string;
  key?: string;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export function tlsConnectOptions(o: DispatcherOptions): Record<string, unknown> {
  const connect: Record<string, unknown> = {};
  // --ca-file *adds* to Node's defaults (and NODE_EXTRA_CA_CERTS, which Node already merged
  // into the default store); passing `ca` alone would replace them.
  if (o.caFile) connect.ca = [...rootCertificates, readPem(o.caFile, '--ca-file')];
  if (o.cert || o.key) {
    if (!o.cert || !o.key) throw new ConfigError('--cert and --key must be given together');
    connect.cert = readPem(o.cert, '--cert');
    connect.key = readPem(o.key, '--key');
  }
  return connect;
}

export function createDispatcher(o: DispatcherOptions): Dispatcher {
  const connect = tlsConnectOptions(o);
  // Long-lived streams: our own keepalive detects dead peers, not undici's body timeout.
  const common = { connect, bodyTimeout: 0, headersTimeout: 30_000 };
  if (o.proxy) return new ProxyAgent({ uri: o.proxy, requestTls: connect, ...common });
  return new EnvHttpProxyAgent(common);
}
