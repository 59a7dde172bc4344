/**
 * The gateway's own `initialize` through the tunnel, for ContextForge-style clients that
 * register only `{name, description, protocol}`: such a client relays raw stdio and
 * expects the gateway to be the MCP client of record (ContextForge's gateway does this).
 */
import { initializeRequest as request, readInitializeAnswer, type InitializeResult } from '../protocol/mcp-handshake.js';
import type { JsonRpcMessage, JsonRpcRequest } from '../protocol/jsonrpc.js';

export const GATEWAY_CLIENT_INFO = { name: 'mcp-reverse-proxy-gateway', version: '0.1.0' } as const;

export function initializeRequest(id: string): JsonRpcRequest {
  return request(id, { clientInfo: GATEWAY_CLIENT_INFO, capabilities: {} });
}

/** The server's answer to our initialize, or a sentence saying what is wrong with it. */
export function parseInitializeResponse(msg: JsonRpcMessage): InitializeResult | string {
  const answer = readInitializeAnswer(msg);
  if (answer.kind === 'refused') return `server refused initialize: ${answer.message} (code ${answer.code})`;
  if (answer.kind === 'malformed') return answer.reason;
  return answer.result;
}
