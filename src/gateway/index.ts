/**
 * The gateway: an HTTP server with the tunnel endpoint (WebSocket upgrades), the MCP
 * Streamable HTTP endpoint per tunneled server, and a small JSON admin API.
 *
 *   tunnel link ─▶ TunnelEndpoint ─▶ SessionRegistry ─▶ TunnelSession (ReliableChannel)
 *                                                          ▲   │ payloads
 *   MCP clients ─▶ McpEndpoint (SDK transport) ─▶ Multiplexer ◀┘
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayOptions } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { ConfigError } from '../errors.js';
import { RpcErrorCode } from '../protocol/jsonrpc.js';
import { createAuthenticator } from './authenticator.js';
import { AdminApi } from './http/admin-api.js';
import { createRequestHandler } from './http/request-handler.js';
import { WsEndpoint } from './links/ws-endpoint.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { SessionRegistry } from './session-registry.js';
import { TunnelEndpoint } from './tunnel-endpoint.js';

export { mintToken, verifyToken, TokenError, type Principal } from './auth.js';

export interface RunningGateway {
  /** http://HOST:PORT, with the real port when `port` was 0. */
  url: string;
  server: Server;
  /** Stop accepting, end every session (pending requests get JSON-RPC errors), close the server. Idempotent. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions, logger: Logger): Promise<RunningGateway> {
  const log = logger.child({ component: 'gateway' });
  const authenticate = createAuthenticator(opts, log);
  const registry = new SessionRegistry({
    resumeWindowMs: opts.resumeWindow * 1000,
    requestTimeoutMs: opts.requestTimeout * 1000,
    maxQueueBytes: opts.maxQueueBytes,
    maxFrameBytes: opts.maxFrameBytes,
    logger: log,
  });
  const tunnel = new TunnelEndpoint({ registry, maxFrameBytes: opts.maxFrameBytes, logger: log });
  const ws = new WsEndpoint({ authenticate, tunnel, maxFrameBytes: opts.maxFrameBytes, logger: log });
  const mcp = new McpEndpoint({ registry, maxBodyBytes: opts.maxFrameBytes, logger: log });
  const admin = new AdminApi({ registry, maxBodyBytes: opts.maxFrameBytes });

  const server = createListener(opts, createRequestHandler({ authenticate, admin, mcp, logger: log }));
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
  server.on('clientError', (err, socket) => {
    log.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  await listen(server, opts.port, opts.host);
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  log.info({ event: 'gateway_listening', url, auth: opts.noAuth ? 'disabled' : 'jwt' }, `gateway listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      registry.closeAll({ kind: 'shutdown', message: 'gateway is shutting down', rpcCode: RpcErrorCode.TunnelUnavailable });
      // Let the JSON-RPC errors just queued for pending requests reach their streams first.
      await new Promise((resolve) => setImmediate(resolve));
      await mcp.close();
      await ws.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      log.info({ event: 'gateway_closed' }, 'gateway closed');
    })();
    return closing;
  };
  return { url, server, close };
}

/**
 * The listening server. TLS (`--tls-cert/--tls-key/--tls-client-ca`) will return an
 * https.Server here; everything above only needs 'request' and 'upgrade' events.
 */
function createListener(opts: GatewayOptions, handler: RequestListener): Server {
  if (opts.tlsCert || opts.tlsKey || opts.tlsClientCa) {
    throw new ConfigError('gateway TLS (--tls-cert / --tls-key / --tls-client-ca) is not yet supported; terminate TLS in a reverse proxy for now');
  }
  return createServer(handler);
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(new ConfigError(`gateway cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
