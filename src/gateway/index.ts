/**
 * The gateway: an HTTP server with the tunnel endpoint (WebSocket upgrades), the MCP
 * Streamable HTTP endpoint per tunneled server, and a small JSON admin API.
 *
 *   tunnel link ─▶ TunnelEndpoint ─▶ SessionRegistry ─▶ TunnelSession (ReliableChannel)
 *                                                          ▲   │ payloads
 *   MCP clients ─▶ McpEndpoint (SDK transport) ─▶ Multiplexer ◀┘
 */
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { GatewayOptions } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { ConfigError, errorMessage } from '../errors.js';
import { RpcErrorCode } from '../protocol/jsonrpc.js';
import { createAuthenticator } from './authenticator.js';
import { AdminApi } from './http/admin-api.js';
import { createRequestHandler } from './http/request-handler.js';
import { applyServerLimits, serverConstructorOptions } from './http/server-limits.js';
import { WsEndpoint } from './links/ws-endpoint.js';
import { HttpLinksEndpoint } from './links/http-links-endpoint.js';
import { LinkQuota } from './links/link-quota.js';
import { McpEndpoint } from './mcp-endpoint.js';
import { RequestStateSealer, requestStateKey } from './request-state.js';
import { GatewayMetrics, tunnelSessionView } from './metrics.js';
import { createOriginCheck } from './origin-policy.js';
import { SessionRegistry } from './session-registry.js';
import { TunnelEndpoint } from './tunnel-endpoint.js';

export { mintToken, verifyToken, TokenError, type Principal } from './auth.js';

export interface RunningGateway {
  /** http://HOST:PORT (https:// with --tls-cert), with the real port when `port` was 0. */
  url: string;
  server: Server;
  /** Stop accepting, end every session (pending requests get JSON-RPC errors), close the server. Idempotent. */
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions, logger: Logger): Promise<RunningGateway> {
  const log = logger.child({ component: 'gateway' });
  let lifecycle: 'starting' | 'ready' | 'stopping' = 'starting';
  // The gauges read registry and mcp at scrape time (both exist by the first scrape).
  const metrics: GatewayMetrics = new GatewayMetrics({
    tunnelSessions: () => tunnelSessionView(registry.all()),
    mcpSessions: () => mcp.sessionCount,
  });
  const authenticate = createAuthenticator(opts, log, (reason) => metrics.authFailure(reason));
  const registry = new SessionRegistry({
    resumeWindowMs: opts.resumeWindow * 1000,
    requestTimeoutMs: opts.requestTimeout * 1000,
    maxQueueBytes: opts.maxQueueBytes,
    maxFrameBytes: opts.maxFrameBytes,
    maxSessionsPerUser: opts.maxSessionsPerUser,
    logger: log,
    onRequestDone: (done) => metrics.request(done),
    onNameForgotten: (name) => metrics.forgetServer(name),
  });
  const tunnel = new TunnelEndpoint({
    registry,
    maxFrameBytes: opts.maxFrameBytes,
    logger: log,
    countFrame: (direction, bytes) => metrics.frame(direction, bytes),
    countReplayed: (frames) => metrics.replay(frames),
  });
  const quota = new LinkQuota({ maxPerUser: opts.maxLinksPerUser, maxPendingPerUser: opts.maxPendingLinksPerUser, logger: log });
  const ws = new WsEndpoint({ authenticate, tunnel, maxFrameBytes: opts.maxFrameBytes, logger: log, quota });
  const links = new HttpLinksEndpoint({ tunnel, maxFrameBytes: opts.maxFrameBytes, keepaliveSeconds: opts.keepalive, logger: log, quota });
  const mcp = new McpEndpoint({
    registry,
    maxBodyBytes: opts.maxFrameBytes,
    logger: log,
    openServers: opts.openServers,
    originAllowed: createOriginCheck(opts.allowedOrigins, opts.host),
    // One MCP session may hold as much unsent output as one tunnel may queue for replay.
    maxBufferedBytes: opts.maxQueueBytes,
    onRefused: (reason) => metrics.refusal(reason),
    idleMs: opts.mcpSessionIdle * 1000,
    maxSessionsPerUser: opts.maxMcpSessionsPerUser,
    keepaliveMs: opts.keepalive * 1000,
    resumeBytes: opts.mcpResumeBytes,
    modern: {
      sealer: new RequestStateSealer(requestStateKey(opts.noAuth ? undefined : opts.jwtSecret)),
      cacheHints: { ttlMs: opts.cacheTtl * 1000, cacheScope: opts.cacheScope },
      parkMs: opts.mrtrWait * 1000,
    },
  });
  const admin = new AdminApi({ registry, maxBodyBytes: opts.maxFrameBytes });

  const server = createListener(opts, createRequestHandler({
      authenticate,
      admin,
      mcp,
      links,
      logger: log,
      metrics,
      metricsAuth: opts.metricsAuth,
      ready: () => lifecycle === 'ready',
    }), log);
  applyServerLimits(server, opts, log, () => metrics.refusal('max_connections'));
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // --headers-timeout / --receive-timeout expired (Node's own code), or unparsable HTTP.
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    log.debug({ err: errorMessage(err), code: err.code }, timedOut ? 'HTTP request not received in time: connection closed' : 'malformed HTTP request');
    const status = timedOut ? '408 Request Timeout' : '400 Bad Request';
    // As Node's default: write and destroy. end() alone would leave the socket half-open for
    // as long as a hostile peer keeps its side open (HTTP server sockets allow half-open).
    if (socket.writable && (socket as Socket).bytesWritten === 0) socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  });
  await listen(server, opts.port, opts.host);
  const { port } = server.address() as AddressInfo;
  const url = `${opts.tlsCert ? 'https' : 'http'}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  lifecycle = 'ready';
  log.info(
    { event: 'gateway_listening', url, auth: opts.noAuth ? 'disabled' : 'jwt', openServers: opts.openServers, metricsAuth: opts.metricsAuth },
    `gateway listening on ${url}`,
  );

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      lifecycle = 'stopping';
      log.info({ event: 'gateway_closing' }, 'gateway shutting down: ending sessions');
      registry.closeAll({ kind: 'shutdown', message: 'gateway is shutting down', rpcCode: RpcErrorCode.TunnelUnavailable });
      // Let the JSON-RPC errors just queued for pending requests reach their streams first.
      await new Promise((resolve) => setImmediate(resolve));
      await mcp.close();
      await ws.close();
      links.close();
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
 * The listening server: plain HTTP, or HTTPS with `--tls-cert/--tls-key` (and client
 * certificates required with `--tls-client-ca`). Everything above only needs 'request'
 * and 'upgrade' events, which both kinds emit, so WebSocket tunnels work over either.
 */
function createListener(opts: GatewayOptions, handler: RequestListener, log: Logger): Server {
  const limits = serverConstructorOptions(opts);
  if (!opts.tlsCert && !opts.tlsKey && !opts.tlsClientCa) return createServer({ connectionsCheckingInterval: limits.connectionsCheckingInterval }, handler);
  if (!opts.tlsCert && !opts.tlsKey) {
    throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are only checked over HTTPS');
  }
  if (!opts.tlsCert || !opts.tlsKey) {
    throw new ConfigError('--tls-cert and --tls-key go together: HTTPS needs both the certificate and its private key');
  }
  const cert = readPem(opts.tlsCert, '--tls-cert');
  const key = readPem(opts.tlsKey, '--tls-key');
  const ca = opts.tlsClientCa ? readPem(opts.tlsClientCa, '--tls-client-ca') : undefined;
  try {
    // With a client CA, the TLS handshake itself refuses clients without a certificate it
    // signed: they never reach the HTTP layer (nor its Bearer-token check).
    const clientAuth = ca ? { ca, requestCert: true, rejectUnauthorized: true } : {};
    const server = createHttpsServer({ cert, key, ...clientAuth, ...limits }, handler);
    // Failed handshakes (no or untrusted client certificate, plain HTTP on the TLS port) never reach HTTP.
    server.on('tlsClientError', (err) => log.debug({ err: errorMessage(err) }, 'TLS handshake failed'));
    return server;
  } catch (err) {
    throw new ConfigError(`gateway TLS setup failed (check --tls-cert / --tls-key / --tls-client-ca): ${errorMessage(err)}`, { cause: err });
  }
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read ${flag} file ${path}: ${errorMessage(err)}`, { cause: err });
  }
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
