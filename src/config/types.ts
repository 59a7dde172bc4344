/**
 * Resolved option sets, after flags > environment > config file > defaults and
 * validation. Durations are in seconds as on the command line (ContextForge names);
 * sizes in bytes.
 */
import type { LogLevelName } from '../observability/logger.js';

export type TransportMode = 'auto' | 'ws' | 'sse' | 'poll';
/** Restart policy of the local server (src/client/restart-policy.ts). */
export type RestartMode = 'never' | 'on-failure' | 'always';
/** Which MCP era the local server speaks: probe it (auto), or take it as given (src/client/era-probe.ts). */
export type ServerEraMode = 'auto' | 'legacy' | 'modern';

export interface ConnectOptions {
  /** Command line of the local stdio MCP server, split without a shell. */
  localStdio: string;
  /** Gateway base URL (http(s):// or ws(s)://); path prefix kept. */
  gateway: string;
  token?: string;
  /** The file `token` was read from (--token-file; src/config/token-file.ts). */
  tokenFile?: string;
  /** Written (atomically) once every server is registered, removed on exit (src/client/ready-file.ts). */
  readyFile?: string;
  /** Server name the gateway publishes it under (default: derived from the command). */
  name: string;
  description?: string;
  /** Base reconnect delay (s); exponential backoff with jitter, capped at 60 s. */
  reconnectDelay: number;
  /** 0 = retry forever. */
  maxRetries: number;
  /** Heartbeat interval (s); the peer is dead after 2 × keepalive of silence. */
  keepalive: number;
  logLevel: LogLevelName;
  transport: TransportMode;
  /**
   * Explicit proxy URL, or `system` (the OS settings; also what applies when no proxy is
   * configured at all); overrides HTTP(S)_PROXY / NO_PROXY (and a PAC file).
   */
  proxy?: string;
  /** Proxy user (`DOMAIN\\user` for NTLM); wins over the proxy URL's. */
  proxyUser?: string;
  /** Proxy password (a secret: never logged, not passed to the child). */
  proxyPassword?: string;
  /** PAC file (http(s):// URL or path) that chooses the proxy per gateway URL. */
  proxyPac?: string;
  /** How often the PAC file is fetched again (s). */
  proxyPacRefresh?: number;
  caFile?: string;
  cert?: string;
  key?: string;
  /** Outbox byte bound. */
  maxQueueBytes: number;
  /** Maximum size of one stdout line of the child. */
  maxLineBytes: number;
  /** Deadline for the local server's initialize (s), the era probe included. */
  initTimeout: number;
  /** auto: probe with server/discover, then initialize a 2025-era server; legacy: initialize at once; modern: require server/discover. */
  serverEra?: ServerEraMode;
  /** WebSocket handshake deadline (s). */
  handshakeTimeout: number;
  /** Restart the local server when it exits (default never). Optional for library callers. */
  restart?: RestartMode;
  /** At most this many restarts within restartWindow seconds. */
  restartMax?: number;
  restartWindow?: number;
  /** Serve Prometheus metrics on 127.0.0.1:<port> (CLI runner; process-wide). */
  metricsPort?: number;
  /** While auto mode runs below ws, re-probe a WebSocket this often (s); 0 = never. */
  reprobeInterval?: number;
  /** SSE: deadline for the stream's first (`session`) event before falling back to poll (s). */
  firstEventTimeout?: number;
}

export interface GatewayOptions {
  host: string;
  port: number;
  jwtSecret?: string;
  jwtIssuer: string;
  jwtAudience: string;
  /** Explicit opt-out of authentication (logs a warning). */
  noAuth: boolean;
  /** How long a disconnected tunnel session is kept for resume (s). */
  resumeWindow: number;
  maxQueueBytes: number;
  /** Maximum frame / HTTP body size (bytes). */
  maxFrameBytes: number;
  /** Deadline for one MCP request through the tunnel (s). */
  requestTimeout: number;
  /** An MCP client session with no request and no open stream for this long is closed (s). */
  mcpSessionIdle: number;
  /** Keepalive the gateway uses for its own SSE comments / poll waits (s). */
  keepalive: number;
  logLevel: LogLevelName;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  /** Every authenticated user may use every server's MCP endpoint (default: owner and admins only). */
  openServers: boolean;
  /** Origins allowed on the MCP endpoint besides loopback ones on a loopback bind; `*` = any. */
  allowedOrigins: readonly string[];
  /** Tunnel links (ws, sse, poll) one token subject may hold at once, registered or not. */
  maxLinksPerUser: number;
  /** Of those, links that have not sent `register` yet. */
  maxPendingLinksPerUser: number;
  /** Live tunnel sessions one token subject may hold. */
  maxSessionsPerUser: number;
  /** GET /metrics needs an admin token (default: no token; the gateway's bind address limits who can scrape). */
  metricsAuth: boolean;
  /** A connection must deliver a request's headers (its first byte included) within this (s); TLS handshakes too. */
  headersTimeout: number;
  /** A connection must deliver a whole request, headers and body, within this (s); streams' responses are not covered. */
  receiveTimeout: number;
  /** A kept-alive HTTP connection idle this long between two requests is closed (s). */
  keepAliveTimeout: number;
  /** Open TCP connections the gateway accepts at once; more are closed at accept. */
  maxConnections: number;
  /** Open MCP client sessions (all servers) one token subject may hold. */
  maxMcpSessionsPerUser: number;
  /** SSE events kept per 2025-era MCP session for clients that reconnect with Last-Event-ID (bytes). */
  mcpResumeBytes: number;
  /** How long a 2026-07-28 call that answered `input_required` waits for the client's retry (s). */
  mrtrWait: number;
  /** `ttlMs` put on cacheable results of 2025-era servers for 2026-07-28 clients (s). */
  cacheTtl: number;
  /** `cacheScope` put on those results. */
  cacheScope: 'public' | 'private';
  /** Scale-out: the Redis URL the replicas share (redis:// or rediss://); unset = one in-memory gateway. */
  redis?: string;
  /** Signs what replicas send each other (default: derived from the JWT secret; required with --no-auth). */
  clusterSecret?: string;
}

export const CONNECT_DEFAULTS = {
  reconnectDelay: 1,
  maxRetries: 0,
  keepalive: 30,
  logLevel: 'INFO',
  transport: 'auto',
  maxQueueBytes: 16 * 1024 * 1024,
  maxLineBytes: 4 * 1024 * 1024,
  initTimeout: 30,
  serverEra: 'auto',
  handshakeTimeout: 3,
  restart: 'never',
  restartMax: 5,
  restartWindow: 60,
  reprobeInterval: 600,
  firstEventTimeout: 3,
  proxyPacRefresh: 300,
} as const satisfies Partial<ConnectOptions>;

export const GATEWAY_DEFAULTS = {
  host: '127.0.0.1',
  port: 4444,
  jwtIssuer: 'mcpgateway',
  jwtAudience: 'mcpgateway-api',
  noAuth: false,
  resumeWindow: 120,
  maxQueueBytes: 16 * 1024 * 1024,
  maxFrameBytes: 4 * 1024 * 1024,
  requestTimeout: 300,
  mcpSessionIdle: 1800,
  keepalive: 15,
  logLevel: 'INFO',
  openServers: false,
  allowedOrigins: [],
  maxLinksPerUser: 100,
  maxPendingLinksPerUser: 20,
  maxSessionsPerUser: 20,
  metricsAuth: false,
  headersTimeout: 10,
  receiveTimeout: 30,
  keepAliveTimeout: 5,
  maxConnections: 1000,
  maxMcpSessionsPerUser: 100,
  mcpResumeBytes: 1024 * 1024,
  mrtrWait: 50,
  cacheTtl: 0,
  cacheScope: 'private',
} as const satisfies Partial<GatewayOptions>;
