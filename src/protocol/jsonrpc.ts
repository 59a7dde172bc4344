/**
 * Minimal JSON-RPC 2.0 helpers. We only look at what routing needs (id, method) and
 * never re-validate payloads that merely pass through the tunnel.
 */
export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}
export interface JsonRpcResult {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: Record<string, unknown>;
}
export interface JsonRpcErrorResponse {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: { code: number; message: string; data?: unknown };
}
export type JsonRpcResponse = JsonRpcResult | JsonRpcErrorResponse;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export type JsonRpcKind = 'request' | 'notification' | 'response' | 'invalid';

/** Standard and implementation-defined (-32000..-32099) error codes used by this project. */
export const RpcErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Tunnel is down and the session could not be resumed in time. */
  TunnelUnavailable: -32001,
  /** The tunnel's queue is full: back off. */
  TunnelSaturated: -32002,
  /** Request took longer than the gateway's request timeout. */
  RequestTimeout: -32003,
  /** The message is larger than the configured maximum frame size. */
  MessageTooLarge: -32004,
  /** The tunnel session ended (deleted, expired, replaced) before an answer came. */
  SessionClosed: -32005,
} as const;

export function classify(msg: unknown): JsonRpcKind {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return 'invalid';
  const m = msg as Record<string, unknown>;
  const hasId = typeof m.id === 'string' || typeof m.id === 'number';
  if (typeof m.method === 'string') return hasId ? 'request' : 'notification';
  if ((hasId || m.id === null) && ('result' in m || 'error' in m)) return 'response';
  return 'invalid';
}

export function rpcError(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcErrorResponse {
  const error: JsonRpcErrorResponse['error'] = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}
