/**
 * `gateway` options from flags > environment > config file > defaults, like
 * connect-options.ts. Only the signing secret has an environment variable
 * (JWT_SECRET_KEY, ContextForge's name): it should not sit in `ps` or a config file.
 */
import { ConfigError } from '../errors.js';
import { isLoopbackHost } from './loopback.js';
import { GATEWAY_DEFAULTS, type GatewayOptions } from './types.js';
import {
  OptionSources,
  readBoolean,
  readByteSize,
  readChoice,
  readInteger,
  readLogLevel,
  readPath,
  readSeconds,
  readString,
  invalid,
  type OptionSpec,
  type Picked,
  type SourcesInput,
} from './option-sources.js';

export const GATEWAY_SPECS = {
  host: { flag: '--host', key: 'host' },
  port: { flag: '--port', key: 'port' },
  jwtSecret: { flag: '--jwt-secret', env: 'JWT_SECRET_KEY', key: 'jwt_secret', secret: true },
  jwtIssuer: { flag: '--jwt-issuer', key: 'jwt_issuer' },
  jwtAudience: { flag: '--jwt-audience', key: 'jwt_audience' },
  noAuth: { flag: '--no-auth', key: 'no_auth' },
  resumeWindow: { flag: '--resume-window', key: 'resume_window' },
  maxQueueBytes: { flag: '--max-queue-bytes', key: 'max_queue_bytes' },
  maxFrameBytes: { flag: '--max-frame-bytes', key: 'max_frame_bytes' },
  requestTimeout: { flag: '--request-timeout', key: 'request_timeout' },
  mcpSessionIdle: { flag: '--mcp-session-idle', key: 'mcp_session_idle' },
  keepalive: { flag: '--keepalive', key: 'keepalive' },
  logLevel: { flag: '--log-level', key: 'log_level' },
  tlsCert: { flag: '--tls-cert', key: 'tls_cert' },
  tlsKey: { flag: '--tls-key', key: 'tls_key' },
  tlsClientCa: { flag: '--tls-client-ca', key: 'tls_client_ca' },
  openServers: { flag: '--open-servers', key: 'open_servers' },
  allowedOrigins: { flag: '--allowed-origins', key: 'allowed_origins' },
  maxLinksPerUser: { flag: '--max-links-per-user', key: 'max_links_per_user' },
  maxPendingLinksPerUser: { flag: '--max-pending-links-per-user', key: 'max_pending_links_per_user' },
  maxSessionsPerUser: { flag: '--max-sessions-per-user', key: 'max_sessions_per_user' },
  metricsAuth: { flag: '--metrics-auth', key: 'metrics_auth' },
  headersTimeout: { flag: '--headers-timeout', key: 'headers_timeout' },
  receiveTimeout: { flag: '--receive-timeout', key: 'receive_timeout' },
  keepAliveTimeout: { flag: '--keep-alive-timeout', key: 'keep_alive_timeout' },
  maxConnections: { flag: '--max-connections', key: 'max_connections' },
  maxMcpSessionsPerUser: { flag: '--max-mcp-sessions-per-user', key: 'max_mcp_sessions_per_user' },
  mcpResumeBytes: { flag: '--mcp-resume-bytes', key: 'mcp_resume_bytes' },
  mrtrWait: { flag: '--mrtr-wait', key: 'mrtr_wait' },
  cacheTtl: { flag: '--cache-ttl', key: 'cache_ttl' },
  cacheScope: { flag: '--cache-scope', key: 'cache_scope' },
  redis: { flag: '--redis', env: 'REVERSE_PROXY_REDIS_URL', key: 'redis', secret: true },
  clusterSecret: { flag: '--cluster-secret', env: 'REVERSE_PROXY_CLUSTER_SECRET', key: 'cluster_secret', secret: true },
} as const satisfies Record<keyof GatewayOptions, OptionSpec>;

/** Shorter HS256 secrets are guessable offline from any one token (RFC 7518 §3.2 asks for >= 256 bits). */
const MIN_SECRET_BYTES = 32;

export function resolveGatewayOptions(input: SourcesInput): { options: GatewayOptions; warnings: string[] } {
  const src = new OptionSources(input);
  const S = GATEWAY_SPECS;
  const warnings = src.unknownKeys(Object.values(S).map((s) => s.key));
  const options: GatewayOptions = {
    host: readString(S.host, src.pick(S.host), 'a host name or IP address to listen on') ?? GATEWAY_DEFAULTS.host,
    port: readInteger(S.port, src.pick(S.port), 0, 65535, 'a port number 0-65535 (0 = any free port)') ?? GATEWAY_DEFAULTS.port,
    jwtIssuer: readString(S.jwtIssuer, src.pick(S.jwtIssuer)) ?? GATEWAY_DEFAULTS.jwtIssuer,
    jwtAudience: readString(S.jwtAudience, src.pick(S.jwtAudience)) ?? GATEWAY_DEFAULTS.jwtAudience,
    noAuth: readBoolean(S.noAuth, src.pick(S.noAuth)) ?? GATEWAY_DEFAULTS.noAuth,
    resumeWindow: readSeconds(S.resumeWindow, src.pick(S.resumeWindow), { allowZero: true }) ?? GATEWAY_DEFAULTS.resumeWindow,
    maxQueueBytes: readByteSize(S.maxQueueBytes, src.pick(S.maxQueueBytes), 1024) ?? GATEWAY_DEFAULTS.maxQueueBytes,
    maxFrameBytes: readByteSize(S.maxFrameBytes, src.pick(S.maxFrameBytes), 1024) ?? GATEWAY_DEFAULTS.maxFrameBytes,
    requestTimeout: readSeconds(S.requestTimeout, src.pick(S.requestTimeout)) ?? GATEWAY_DEFAULTS.requestTimeout,
    mcpSessionIdle: readSeconds(S.mcpSessionIdle, src.pick(S.mcpSessionIdle)) ?? GATEWAY_DEFAULTS.mcpSessionIdle,
    keepalive: readSeconds(S.keepalive, src.pick(S.keepalive)) ?? GATEWAY_DEFAULTS.keepalive,
    logLevel: input.flags.verbose === true ? 'DEBUG' : (readLogLevel(S.logLevel, src.pick(S.logLevel)) ?? GATEWAY_DEFAULTS.logLevel),
    openServers: readBoolean(S.openServers, src.pick(S.openServers)) ?? GATEWAY_DEFAULTS.openServers,
    allowedOrigins: readOrigins(S.allowedOrigins, src.pick(S.allowedOrigins)) ?? GATEWAY_DEFAULTS.allowedOrigins,
    maxLinksPerUser:
      readInteger(S.maxLinksPerUser, src.pick(S.maxLinksPerUser), 1, 1_000_000, 'a whole number of links >= 1') ?? GATEWAY_DEFAULTS.maxLinksPerUser,
    maxPendingLinksPerUser:
      readInteger(S.maxPendingLinksPerUser, src.pick(S.maxPendingLinksPerUser), 1, 1_000_000, 'a whole number of links >= 1') ??
      GATEWAY_DEFAULTS.maxPendingLinksPerUser,
    maxSessionsPerUser:
      readInteger(S.maxSessionsPerUser, src.pick(S.maxSessionsPerUser), 1, 100_000, 'a whole number of sessions >= 1') ??
      GATEWAY_DEFAULTS.maxSessionsPerUser,
    metricsAuth: readBoolean(S.metricsAuth, src.pick(S.metricsAuth)) ?? GATEWAY_DEFAULTS.metricsAuth,
    ...readServerLimits(src),
    ...readEraOptions(src),
  };

  const secret = readString(S.jwtSecret, src.pick(S.jwtSecret), 'a non-empty secret');
  if (options.noAuth) {
    // The gateway itself warns loudly that authentication is off.
    if (secret !== undefined) warnings.push('--no-auth is set, so the JWT secret (--jwt-secret / JWT_SECRET_KEY) is ignored');
  } else if (secret === undefined) {
    throw new ConfigError(
      'missing --jwt-secret: the gateway needs the HS256 secret that signs client tokens ' +
        '(set --jwt-secret, JWT_SECRET_KEY or config file key jwt_secret), or pass --no-auth to run without authentication',
    );
  } else {
    options.jwtSecret = secret;
    if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
      warnings.push(`the JWT secret is shorter than ${MIN_SECRET_BYTES} bytes; use a long random one (e.g. openssl rand -hex 32)`);
    }
  }

  const tlsCert = readPath(S.tlsCert, src.pick(S.tlsCert), input.file);
  const tlsKey = readPath(S.tlsKey, src.pick(S.tlsKey), input.file);
  const tlsClientCa = readPath(S.tlsClientCa, src.pick(S.tlsClientCa), input.file);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: HTTPS needs both the certificate and its private key');
  }
  if (tlsClientCa !== undefined && tlsCert === undefined) {
    throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are only checked over HTTPS');
  }
  if (tlsCert !== undefined) options.tlsCert = tlsCert;
  if (tlsKey !== undefined) options.tlsKey = tlsKey;
  if (tlsClientCa !== undefined) options.tlsClientCa = tlsClientCa;
  Object.assign(options, readClusterOptions(src, options));
  warnings.push(...exposureWarnings(options));
  return { options, warnings };
}

/** Scale-out (docs/scale-out.md): the shared Redis and the secret replicas sign their messages with. */
function readClusterOptions(src: OptionSources, o: GatewayOptions): Pick<GatewayOptions, 'redis' | 'clusterSecret'> {
  const S = GATEWAY_SPECS;
  const picked = src.pick(S.redis);
  const redis = readString(S.redis, picked, 'a Redis URL like redis://host:6379/0');
  const secret = readString(S.clusterSecret, src.pick(S.clusterSecret), 'a non-empty secret');
  if (redis === undefined) return {};
  let url: URL | undefined;
  try {
    url = new URL(redis);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw invalid(S.redis, picked!, 'expected a Redis URL like redis://host:6379/0 (or rediss:// for TLS)');
  }
  if (secret === undefined && o.noAuth) {
    throw new ConfigError(
      'missing --cluster-secret: with --redis and --no-auth the replicas need a shared secret to sign what they send each other ' +
        '(set --cluster-secret, REVERSE_PROXY_CLUSTER_SECRET or config file key cluster_secret)',
    );
  }
  return { redis, ...(secret !== undefined ? { clusterSecret: secret } : {}) };
}

/** What the two MCP eras need (docs/gateway.md, "MCP protocol eras"). */
function readEraOptions(src: OptionSources): Pick<GatewayOptions, 'mcpResumeBytes' | 'mrtrWait' | 'cacheTtl' | 'cacheScope'> {
  const S = GATEWAY_SPECS;
  const D = GATEWAY_DEFAULTS;
  return {
    mcpResumeBytes: readByteSize(S.mcpResumeBytes, src.pick(S.mcpResumeBytes), 0) ?? D.mcpResumeBytes,
    mrtrWait: readSeconds(S.mrtrWait, src.pick(S.mrtrWait)) ?? D.mrtrWait,
    cacheTtl: readSeconds(S.cacheTtl, src.pick(S.cacheTtl), { allowZero: true }) ?? D.cacheTtl,
    cacheScope: readChoice(S.cacheScope, src.pick(S.cacheScope), ['public', 'private'] as const) ?? D.cacheScope,
  };
}

/** HTTP server timeouts and caps (docs/gateway.md, "Connections"). */
function readServerLimits(src: OptionSources): Pick<GatewayOptions, 'headersTimeout' | 'receiveTimeout' | 'keepAliveTimeout' | 'maxConnections' | 'maxMcpSessionsPerUser'> {
  const S = GATEWAY_SPECS;
  const D = GATEWAY_DEFAULTS;
  const headers = src.pick(S.headersTimeout);
  const receive = src.pick(S.receiveTimeout);
  const limits = {
    headersTimeout: readSeconds(S.headersTimeout, headers) ?? D.headersTimeout,
    receiveTimeout: readSeconds(S.receiveTimeout, receive) ?? D.receiveTimeout,
    keepAliveTimeout: readSeconds(S.keepAliveTimeout, src.pick(S.keepAliveTimeout)) ?? D.keepAliveTimeout,
    maxConnections: readInteger(S.maxConnections, src.pick(S.maxConnections), 1, 1_000_000, 'a whole number of connections >= 1') ?? D.maxConnections,
    maxMcpSessionsPerUser:
      readInteger(S.maxMcpSessionsPerUser, src.pick(S.maxMcpSessionsPerUser), 1, 1_000_000, 'a whole number of sessions >= 1') ?? D.maxMcpSessionsPerUser,
  };
  // Node refuses a headers timeout above the whole-request one; say which two flags disagree.
  if (limits.headersTimeout > limits.receiveTimeout) {
    const from = (p: Picked | undefined, flag: string): string => (p ? `${flag} ${String(p.value)} (from ${p.source})` : `${flag} ${flag === S.headersTimeout.flag ? D.headersTimeout : D.receiveTimeout} (default)`);
    throw new ConfigError(
      `${from(headers, S.headersTimeout.flag)} is longer than ${from(receive, S.receiveTimeout.flag)}: ` +
        'the whole request (headers and body) cannot have less time than its headers',
    );
  }
  return limits;
}

/**
 * One warning each for what a public bind exposes: Bearer tokens in clear text without
 * TLS, and an unauthenticated /metrics. A loopback bind (the default) warns about neither.
 */
export function exposureWarnings(o: Pick<GatewayOptions, 'host' | 'tlsCert' | 'metricsAuth'>): string[] {
  if (isLoopbackHost(o.host)) return [];
  const out: string[] = [];
  if (o.tlsCert === undefined) {
    out.push(`--host ${o.host} is not a loopback address and the gateway serves plain HTTP: tokens travel in clear text (use --tls-cert/--tls-key, or a TLS-terminating reverse proxy in front of a loopback bind)`);
  }
  if (!o.metricsAuth) out.push(`--host ${o.host} is not a loopback address and GET /metrics needs no token: anyone who reaches the port can scrape it (add --metrics-auth)`);
  return out;
}

/**
 * `--allowed-origins`: comma-separated (flag) or a list (config file) of
 * `scheme://host[:port]` origins, or `*`. Paths and junk are refused now rather than
 * silently never matching a browser's Origin header.
 */
function readOrigins(spec: OptionSpec, picked: Picked | undefined): string[] | undefined {
  if (!picked) return undefined;
  const items = Array.isArray(picked.value) ? picked.value : typeof picked.value === 'string' ? picked.value.split(',') : undefined;
  const expected = 'a comma-separated list of origins like https://app.example.com,http://localhost:6274 (or *)';
  if (items === undefined || items.some((i) => typeof i !== 'string')) throw invalid(spec, picked, `expected ${expected}`);
  const out: string[] = [];
  for (const raw of items as string[]) {
    const item = raw.trim();
    if (item === '') continue;
    if (item === '*') {
      out.push(item);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || url.origin === 'null' || url.origin !== item.replace(/\/$/, '').toLowerCase()) {
      throw invalid(spec, picked, `"${item}" is not an origin (scheme://host[:port], no path); expected ${expected}`);
    }
    out.push(url.origin);
  }
  return out;
}
