/**
 * The seams between the tunnel side and the MCP side of the gateway. The multiplexer
 * sees a tunnel session only as a TunnelPort and an MCP client session only as an
 * McpClientPort, so it is tested with plain objects and no sockets.
 */
import type { JsonRpcId, JsonRpcMessage } from '../../protocol/jsonrpc.js';
import type { InitializeResult } from '../../protocol/mcp-handshake.js';

export interface TunnelPort {
  readonly sessionId: string;
  readonly serverName: string;
  /** Known once the server is ready (from register, or from the gateway's own initialize). */
  readonly initializeResult: InitializeResult | undefined;
  /**
   * undefined when a request can be queued now (ready, and connected or within the
   * resume window); otherwise a sentence saying why not.
   */
  unavailableReason(): string | undefined;
  /** `modern`: the server speaks only MCP 2026-07-28 (modern-server.ts bridges it for 2025-era clients). */
  readonly era?: 'legacy' | 'modern';
  /** Queue one JSON-RPC message for the server. Throws QueueFullError when the tunnel is saturated. */
  push(payload: JsonRpcMessage): void;
}

/** One MCP client session (or a one-shot HTTP request) as the multiplexer sees it. */
export interface McpClientPort {
  readonly id: string;
  /** Token subject of the session: server→client requests never cross principals (server-requests.ts). */
  readonly principal: string;
  /**
   * A 2026-07-28 call: a server→client request raised while it is the newest request in
   * flight goes to it even when it did not declare the capability (it answers -32021),
   * never to another of the user's clients (server-requests.ts).
   */
  readonly exclusive?: boolean;
  /** It takes notifications only (a 2026-07-28 listen stream): never a server→client request. */
  readonly notificationsOnly?: boolean;
  /** Deliver a message; `relatedRequestId` routes it onto that request's response stream. */
  send(msg: JsonRpcMessage, relatedRequestId?: JsonRpcId): Promise<void> | void;
}

/**
 * Deliver to a client port asynchronously (never inside the caller's bookkeeping), in order
 * of the calls: one microtask, and no promise unless `send` returns one; a throw or a
 * rejection goes to `failed`.
 */
export function sendSoon(port: McpClientPort, msg: JsonRpcMessage, related: JsonRpcId | undefined, failed: (err: unknown) => void): void {
  queueMicrotask(() => {
    try {
      port.send(msg, related)?.catch(failed);
    } catch (err) {
      failed(err);
    }
  });
}
