/**
 * Scale-out (gateway/cluster/mcp-sessions.ts, docs/scale-out.md): where 2025-era MCP
 * sessions are kept beyond the replica that opened them, so that the next replica serving
 * their server (after a failover) can take them up again, resumable streams included.
 * Without `--redis` there is no store: sessions live in this process only.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JsonRpcId } from '../../protocol/jsonrpc.js';

export interface McpSessionRecord {
  server: string;
  subject: string;
  /** What the client declared in initialize (server→client requests are routed by them). */
  capabilities?: Record<string, unknown>;
}

export interface McpSessionStore {
  opened(id: string, rec: McpSessionRecord): void;
  /** Keeps the record alive while the session is used (the store throttles writes). */
  used(id: string, subject: string): void;
  closed(id: string): void;
  /** How many live sessions the subject holds on all replicas (--max-mcp-sessions-per-user). */
  heldBy(subject: string): Promise<number>;
  /** The record of a session this replica does not hold. */
  find(id: string): Promise<McpSessionRecord | undefined>;
  /**
   * The session's resumable streams, shared by every replica. A stream opened by another
   * replica, replayed here, can no longer get the answers it was waiting for (they were
   * owed by that replica's multiplexer): the store ends each such request with a JSON-RPC
   * error (`requestsOf` names a stream's requests when it opens).
   */
  events(sessionId: () => string | undefined, requestsOf: (streamId: string) => JsonRpcId[]): EventStore;
}

/**
 * The request ids the SDK transport has mapped to a stream. Read from the SDK's private
 * map (1.x, web-standard transport): nothing public names a stream's requests, and the
 * scale-out failover test fails if this stops finding them.
 */
export function requestsOnStream(transport: StreamableHTTPServerTransport, streamId: string): JsonRpcId[] {
  const inner = (transport as unknown as { _webStandardTransport?: { _requestToStreamMapping?: Map<JsonRpcId, string> } })._webStandardTransport;
  const out: JsonRpcId[] = [];
  for (const [id, stream] of inner?._requestToStreamMapping ?? []) if (stream === streamId) out.push(id);
  return out;
}

/** Make a new SDK transport continue an already initialized session (a revived one) under its id. */
export function markInitialized(transport: StreamableHTTPServerTransport, sessionId: string): void {
  const inner = (transport as unknown as { _webStandardTransport: { sessionId?: string; _initialized: boolean } })._webStandardTransport;
  inner.sessionId = sessionId;
  inner._initialized = true;
}
