/**
 * The gateway's own `initialize` through the tunnel, for ContextForge-style clients that
 * register only `{name, description, protocol}`: such a client relays raw stdio and
 * expects the gateway to be the MCP client of record (ContextForge's gateway does this).
 */
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import type { ServerDescription } from '../protocol/envelope.js';
import type { JsonRpcMessage, JsonRpcNotification, JsonRpcRequest } from '../protocol/jsonrpc.js';
import type { InitializeResultLike } from './tunnel-port.js';

export const GATEWAY_CLIENT_INFO = { name: 'mcp-reverse-proxy-gateway', version: '0.1.0' } as const;

/** The client registered what the local server said in its own initialize. */
export function initializeResultFromRegister(server: ServerDescription): InitializeResultLike | undefined {
  if (!server.serverInfo) return undefined;
  const r: InitializeResultLike = {
    protocolVersion: server.protocolVersion ?? LATEST_PROTOCOL_VERSION,
    capabilities: server.capabilities ?? {},
    // The MCP schema requires serverInfo.version; a client that left it out gets "".
    serverInfo: { ...server.serverInfo, version: typeof server.serverInfo.version === 'string' ? server.serverInfo.version : '' },
  };
  if (server.instructions !== undefined) r.instructions = server.instructions;
  return r;
}

export function initializeRequest(id: string): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { ...GATEWAY_CLIENT_INFO } },
  };
}

export const INITIALIZED_NOTIFICATION: JsonRpcNotification = { jsonrpc: '2.0', method: 'notifications/initialized' };

/** The server's answer to our initialize, or a sentence saying what is wrong with it. */
export function parseInitializeResponse(msg: JsonRpcMessage): InitializeResultLike | string {
  if ('error' in msg) return `server refused initialize: ${msg.error.message} (code ${msg.error.code})`;
  if (!('result' in msg)) return 'initialize answer is not a JSON-RPC response';
  const r = msg.result as Record<string, unknown>;
  const info = r.serverInfo as Record<string, unknown> | undefined;
  if (typeof r.protocolVersion !== 'string') return 'initialize result has no protocolVersion';
  if (typeof info !== 'object' || info === null || typeof info.name !== 'string') {
    return 'initialize result has no serverInfo.name';
  }
  const out: InitializeResultLike = {
    protocolVersion: r.protocolVersion,
    capabilities: typeof r.capabilities === 'object' && r.capabilities !== null ? (r.capabilities as Record<string, unknown>) : {},
    serverInfo: { ...info, name: info.name, version: typeof info.version === 'string' ? info.version : '' },
  };
  if (typeof r.instructions === 'string') out.instructions = r.instructions;
  return out;
}
