/**
 * Per-client progress routing (MCP `_meta.progressToken`). Two clients may pick the same
 * token (the SDK client uses its request id), so the token the server sees is replaced by
 * the request's tunnel id, which is unique; `notifications/progress` naming that id goes
 * back to the one client that asked, with its own token restored.
 *
 * Seam: this is the whole rewriting policy. Tokens outliving their request (progress
 * after the response) are dropped today; a token table with its own lifetime would go here.
 */
import type { JsonRpcMessage, JsonRpcRequest } from '../../protocol/jsonrpc.js';

export type ProgressToken = string | number;

/** The request as the tunnel sees it: tunnel id in place of the client's id and progress token. */
export function rewriteRequest(msg: JsonRpcRequest, tunnelId: number): { payload: JsonRpcRequest; progressToken?: ProgressToken } {
  const meta = msg.params?._meta as Record<string, unknown> | undefined;
  const token = meta?.progressToken;
  if (typeof token !== 'string' && typeof token !== 'number') return { payload: { ...msg, id: tunnelId } };
  const params = { ...msg.params, _meta: { ...meta, progressToken: tunnelId } };
  return { payload: { ...msg, id: tunnelId, params }, progressToken: token };
}

/** A progress notification as the client expects it: its own token back. */
export function restoreProgressToken(n: { method: string; params?: Record<string, unknown> }, token: ProgressToken): JsonRpcMessage {
  return { jsonrpc: '2.0', method: n.method, params: { ...n.params, progressToken: token } };
}
