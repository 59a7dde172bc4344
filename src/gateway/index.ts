/**
 * The gateway, wired together. tunnel/ takes the links of tunnel clients and keeps their
 * sessions; mcp/ serves MCP clients through one Multiplexer per server; http/ holds what
 * both use (responses, auth, access, Origin policy, the listener and its limits); routes,
 * the admin API and the metrics sit on top.
 *
 *   tunnel client ─▶ tunnel/links (ws | sse | poll) ─▶ TunnelEndpoint ─▶ SessionRegistry ─▶ TunnelSession
 *                                                                       │ registered, ready, payload, closed
 *   MCP clients ─▶ routes ─▶ mcp/McpEndpoint (SDK transport) ─▶ Multiplexer ◀──┘ (mcp/Multiplexers subscribes)
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayOptions } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import { RpcErrorCode } from '../protocol/jsonrpc.js';
import { createAuthenticator } from './http/authenticator.js';
import { AdminApi } from './admin-api.js';
import { createRequestHandler } from './routes.js';
import { answerClientErrors, createListener, listen } from './http/listener.js';
import { applyServerLimits } from './http/server-limits.js';
import { WsEndpoint } from './tunnel/links/ws-endpoint.js';
import { HttpLinksEndpoint } from './tunnel/links/http-links-endpoint.js';
import type { LinkAcceptor } from './tunnel/links/link.js';
import { LinkQuota } from './tunnel/links/link-quota.js';
import { McpEndpoint } from './mcp/mcp-endpoint.js';
import { Multiplexers } from './mcp/multiplexers.js';
import { RequestStateSealer, requestStateKey } from './modern/request-state.js';
import { ModernEndpoint } from './modern/modern-endpoint.js';
import { SessionSlots } from './mcp/session-slots.js';
import { McpDoor } from './mcp-door.js';
import { GatewayMetrics, tunnelSessionView } from './metrics.js';
import { createOriginCheck } from './http/origin-policy.js';
import { SessionRegistry } from './tunnel/session-registry.js';
import { TunnelEndpoint } from './tunnel/tunnel-endpoint.js';

export { mintToken, verifyToken, TokenError, type Principal } from './http/auth.js';

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
  });
  // Scale-out (docs/scale-out.md): only with --redis, and only then is its code (and ioredis) loaded.
  const cluster = opts.redis ? await (await import('./cluster/cluster.js')).startCluster(opts, registry, log) : undefined;
  // The MCP side subscribes to the tunnel side's events.
  const multiplexers = new Multiplexers(registry, {
    requestTimeoutMs: opts.requestTimeout * 1000,
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
    ...(cluster ? { cluster: cluster.tunnel } : {}),
  });
  const quota = new LinkQuota({ maxPerUser: opts.maxLinksPerUser, maxPendingPerUser: opts.maxPendingLinksPerUser, logger: log });
  const accept: LinkAcceptor = (link, principal, slot) => tunnel.acceptLink(link, principal, slot);
  const ws = new WsEndpoint({ authenticate, accept, maxFrameBytes: opts.maxFrameBytes, logger: log, quota });
  const links = new HttpLinksEndpoint({
    accept,
    maxFrameBytes: opts.maxFrameBytes,
    keepaliveSeconds: opts.keepalive,
    logger: log,
    quota,
    ...(cluster ? { linkIdPrefix: cluster.replicaId } : {}),
  });
  // One budget per user over both eras: 2025 sessions, listen streams, parked MRTR calls.
  const slots = new SessionSlots(opts.maxMcpSessionsPerUser);
  const mcp = new McpEndpoint({
    registry,
    multiplexers,
    logger: log,
    openServers: opts.openServers,
    // One MCP session may hold as much unsent output as one tunnel may queue for replay.
    maxBufferedBytes: opts.maxQueueBytes,
    onRefused: (reason) => metrics.refusal(reason),
    idleMs: opts.mcpSessionIdle * 1000,
    slots,
    keepaliveMs: opts.keepalive * 1000,
    resumeBytes: opts.mcpResumeBytes,
    ...(cluster ? { store: cluster.mcpSessions } : {}),
  });
  const modern = new ModernEndpoint({
    registry,
    multiplexers,
    logger: log,
    openServers: opts.openServers,
    takeSlot: (subject) => slots.take(subject),
    // Replicas must open each other's states: without a JWT secret, the cluster secret keys them.
    sealer: new RequestStateSealer(requestStateKey(opts.noAuth ? opts.clusterSecret : opts.jwtSecret)),
    cacheHints: { ttlMs: opts.cacheTtl * 1000, cacheScope: opts.cacheScope },
    parkMs: opts.mrtrWait * 1000,
    keepaliveMs: opts.keepalive * 1000,
    maxBufferedBytes: opts.maxQueueBytes,
  });
  const door = new McpDoor({
    legacy: mcp,
    modern,
    originAllowed: createOriginCheck(opts.allowedOrigins, opts.host),
    maxBodyBytes: opts.maxFrameBytes,
    logger: log,
    onOriginRefused: () => metrics.refusal('origin'),
  });
  const admin = new AdminApi({ registry, multiplexers, maxBodyBytes: opts.maxFrameBytes });

  const routes = {
    authenticate,
    admin,
    mcp: door,
    links,
    logger: log,
    metrics,
    metricsAuth: opts.metricsAuth,
    ready: () => lifecycle === 'ready' && (cluster?.ready() ?? true),
  };
  const server = createListener(opts, createRequestHandler({ ...routes, ...(cluster ? { cluster } : {}) }), log);
  if (cluster) {
    // What other replicas forward here: the same routes, the principal from their signed envelope, never forwarded again.
    await cluster.serveForwarded(
      createRequestHandler({
        ...routes,
        authenticate: async (req) => {
          const p = cluster.forwardedPrincipal(req);
          if (!p) throw new Error('not a forwarded request');
          return p;
        },
      }),
    );
  }
  applyServerLimits(server, opts, log, () => metrics.refusal('max_connections'));
  answerClientErrors(server, log);
  server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));
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
      const end = { kind: 'shutdown', message: 'gateway is shutting down', rpcCode: RpcErrorCode.TunnelUnavailable } as const;
      // Scale-out: the tunnels' state stays in Redis; their clients resume on another replica.
      await cluster?.handOver();
      registry.closeAll(end);
      multiplexers.failAll(end.rpcCode, end.message);
      // Let the JSON-RPC errors just queued for pending requests reach their streams first.
      await new Promise((resolve) => setImmediate(resolve));
      modern.close();
      await mcp.close({ handOver: cluster !== undefined });
      await ws.close();
      links.close();
      await cluster?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      log.info({ event: 'gateway_closed' }, 'gateway closed');
    })();
    return closing;
  };
  return { url, server, close };
}
