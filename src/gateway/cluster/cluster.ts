/**
 * A replica of a scale-out gateway (docs/scale-out.md), wired: the Redis connections, this
 * replica's identity and liveness, the signed bus, forwarding both ways (exchange-*.ts,
 * loopback.ts), ownership of tunnels (cluster-tunnels.ts) and request placement
 * (cluster-router.ts). gateway/index.ts starts it only with `--redis`; everything here is
 * loaded only then.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { GatewayOptions } from '../../config/types.js';
import type { Logger } from '../../observability/logger.js';
import type { Principal } from '../http/auth.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import type { TunnelCluster } from '../tunnel/tunnel-cluster.js';
import { POST_BATCH_FACTOR } from '../tunnel/links/http-links-endpoint.js';
import { connectRedis } from './redis-connection.js';
import { clusterKey } from './signed-message.js';
import { ReplicaBus } from './replica-bus.js';
import { Replicas } from './replicas.js';
import { Loopback } from './loopback.js';
import { ExchangeRunner } from './exchange-runner.js';
import { ExchangeForwarder } from './exchange-forwarder.js';
import { Ownership } from './ownership.js';
import { ClusterTunnels } from './cluster-tunnels.js';
import { ClusterRouter, type Placement } from './cluster-router.js';
import { fanOut } from './fan-out.js';
import { Failover } from './failover.js';
import { RedisMcpSessions } from './mcp-sessions.js';
import type { McpSessionStore } from '../mcp/session-store.js';

export type { Placement } from './cluster-router.js';

export interface Cluster {
  readonly replicaId: string;
  readonly tunnel: TunnelCluster;
  /** 2025-era MCP sessions and their streams, for any replica to take up. */
  readonly mcpSessions: McpSessionStore;
  /** Redis reachable and this replica's heartbeat current (`/readyz`). */
  ready(): boolean;
  /** Forward to the owner (true) or let the caller serve it here (false). */
  route(req: IncomingMessage, res: ServerResponse, principal: Principal, where: Placement): Promise<boolean>;
  /** A list route, merged over every live replica. */
  list(req: IncomingMessage, res: ServerResponse, principal: Principal, field: 'servers' | 'sessions'): Promise<void>;
  /** Shutting down: leave every local tunnel session in Redis for its client to resume on another replica. */
  handOver(): Promise<void>;
  /** Serve forwarded requests with these routes (which must not forward again). */
  serveForwarded(handler: RequestListener): Promise<void>;
  /** The principal of a request that came through the loopback listener, else undefined. */
  forwardedPrincipal(req: IncomingMessage): Principal | undefined;
  close(): Promise<void>;
}

export async function startCluster(opts: GatewayOptions, registry: SessionRegistry, logger: Logger): Promise<Cluster> {
  const replicaId = randomBytes(8).toString('base64url');
  const log = logger.child({ replica: replicaId });
  const secret = opts.clusterSecret ?? opts.jwtSecret;
  if (!secret) throw new Error('scale-out needs --cluster-secret (or a JWT secret to derive it from)');
  const redis = await connectRedis(opts.redis!, log);
  const bus = new ReplicaBus(redis, replicaId, clusterKey(secret), log);
  await bus.start();
  const replicas = new Replicas(redis, replicaId, log);
  await replicas.start();
  const loopback = new Loopback();
  const runner = new ExchangeRunner(bus, loopback, log);
  const forwarder = new ExchangeForwarder(bus, {
    maxBufferedBytes: opts.maxQueueBytes,
    headDeadlineMs: opts.requestTimeout * 1000 + 30_000,
    logger: log,
  });
  // A tunnel's records outlive its replica exactly as long as a dropped tunnel is kept (10 s at least).
  const ttlMs = Math.max(opts.resumeWindow * 1000, 10_000);
  const ownership = new Ownership(redis.command, replicaId, ttlMs);
  const failover = new Failover({ redis: redis.command, registry, bus, replica: replicaId, ttlMs, logger: log, tunnels: () => tunnels });
  const tunnels: ClusterTunnels = new ClusterTunnels({
    registry,
    redis: redis.command,
    ownership,
    takeover: (principal, reg) => failover.takeover(principal, reg),
    bus,
    maxSessionsPerUser: opts.maxSessionsPerUser,
    refreshMs: Math.min(5000, Math.max(1000, (opts.resumeWindow * 1000) / 4)),
    logger: log,
  });
  const router = new ClusterRouter({
    ownership,
    forwarder,
    loopback,
    maxBodyBytes: opts.maxFrameBytes * POST_BATCH_FACTOR,
    failoverWaitMs: Math.min(opts.requestTimeout * 1000, 15_000),
    logger: log,
  });
  log.info({ event: 'cluster_joined', replica: replicaId }, `joined the cluster as replica ${replicaId}`);
  return {
    replicaId,
    tunnel: tunnels,
    mcpSessions: new RedisMcpSessions(redis.command, replicaId, { idleMs: opts.mcpSessionIdle * 1000, resumeBytes: opts.mcpResumeBytes }),
    ready: () => replicas.healthy,
    route: (req, res, principal, where) => router.route(req, res, principal, where),
    list: (req, res, principal, field) => fanOut({ replicas: () => replicas.live(), self: replicaId, forwarder, loopback }, req, res, principal, field),
    handOver: () => tunnels.handOver(),
    serveForwarded: (handler) => loopback.start(handler),
    forwardedPrincipal: (req) => loopback.principalOf(req),
    close: async () => {
      tunnels.close();
      forwarder.close();
      runner.close();
      await replicas.stop();
      await loopback.close();
      await redis.close();
    },
  };
}
