/**
 * `logging/setLevel` from several MCP clients sharing one server. The server has one level;
 * we set it to the most verbose level any connected client asked for, and filter
 * `notifications/message` per client, so each client sees what it asked for and no less.
 * A client that never set a level gets every log message the server sends (the spec
 * leaves the default to the server). When the most verbose client leaves, the server's
 * level is raised to the next most verbose one; when the last one leaves it stays as is
 * (MCP has no "unset").
 */

/** RFC 5424 severities, most verbose first (MCP `LoggingLevel`). */
export const MCP_LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type McpLogLevel = (typeof MCP_LOG_LEVELS)[number];

export function isMcpLogLevel(v: unknown): v is McpLogLevel {
  return typeof v === 'string' && (MCP_LOG_LEVELS as readonly string[]).includes(v);
}

const rank = (l: McpLogLevel): number => MCP_LOG_LEVELS.indexOf(l);

export class LogLevels {
  private readonly byClient = new Map<string, McpLogLevel>();
  /** What the server was last told (undefined: never told). */
  private upstream: McpLogLevel | undefined;

  /** Record a client's level; returns the level to send upstream, or undefined when the server's level stays. */
  set(clientId: string, level: McpLogLevel): McpLogLevel | undefined {
    this.byClient.set(clientId, level);
    return this.changed();
  }

  /** A client left: the level to send upstream, or undefined. */
  remove(clientId: string): McpLogLevel | undefined {
    if (!this.byClient.delete(clientId)) return undefined;
    return this.changed();
  }

  /** The server's level, to restore on a fresh tunnel session. */
  get current(): McpLogLevel | undefined {
    return this.upstream;
  }

  /** Whether a `notifications/message` at `level` is for this client. */
  wants(clientId: string, level: unknown): boolean {
    const mine = this.byClient.get(clientId);
    if (mine === undefined || !isMcpLogLevel(level)) return true;
    return rank(level) >= rank(mine);
  }

  private changed(): McpLogLevel | undefined {
    let best: McpLogLevel | undefined;
    for (const l of this.byClient.values()) if (best === undefined || rank(l) < rank(best)) best = l;
    if (best === undefined || best === this.upstream) return undefined;
    this.upstream = best;
    return best;
  }
}
