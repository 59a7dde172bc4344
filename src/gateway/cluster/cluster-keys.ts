/**
 * Everything the replicas keep in Redis, by key (docs/scale-out.md, "What lives in Redis").
 * One prefix for all of them, so a Redis shared with other applications stays tidy.
 */
export const KEY_PREFIX = 'mcp-rp:';

export const keys = {
  /** A replica's liveness: set with a short TTL, refreshed by its heartbeat. */
  replica: (id: string) => `${KEY_PREFIX}replica:${id}`,
  /** The pub/sub channel a replica listens on. */
  bus: (id: string) => `${KEY_PREFIX}bus:${id}`,
  /** Who holds a server name (by its case-folded key): hash {name, session, subject, replica, gen}. */
  name: (nameKey: string) => `${KEY_PREFIX}name:${nameKey}`,
  /** A tunnel session: hash {name, subject, replica, gen, server, mode, init, inack, next, base}. */
  session: (id: string) => `${KEY_PREFIX}session:${id}`,
  /** Its gateway → client outbox: list of frame bodies, the first one's seq is the hash's `base`. */
  outbox: (id: string) => `${KEY_PREFIX}session:${id}:out`,
  /** A subject's tunnel sessions over all replicas: sorted set, member = session id, score = lease expiry (ms). */
  userSessions: (subject: string) => `${KEY_PREFIX}user:${subject}:sessions`,
  /** A subject's 2025-era MCP sessions over all replicas (same lease scheme; lease = --mcp-session-idle). */
  userMcpSessions: (subject: string) => `${KEY_PREFIX}user:${subject}:mcp`,
} as const;

/** How often a replica refreshes what it holds, and how long a refresh lasts. */
export const HEARTBEAT_MS = 1000;
export const REPLICA_TTL_MS = 5000;
