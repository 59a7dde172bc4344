/**
 * The client side of MCP's `initialize` handshake with the local server. We declare the
 * client capabilities the gateway can serve on behalf of its MCP clients (it routes
 * sampling, elicitation and roots requests to a client that declared them), so the local
 * server does not switch those features off for every client up front.
 */
import { LATEST_PROTOCOL_VERSION } from '../protocol/mcp-version.js';
import { LocalServerError } from '../errors.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcRequest } from '../protocol/jsonrpc.js';

export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version: string; [key: string]: unknown };
  instructions?: string;
}

export const DEFAULT_CLIENT_INFO = { name: 'mcp-reverse-proxy', version: '0' };

export function initializeRequest(id: JsonRpcId, clientInfo: { name: string; version: string } = DEFAULT_CLIENT_INFO): JsonRpcRequest {
  return {
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
      clientInfo,
    },
  };
}

/** The result of the server's answer, or a LocalServerError saying what is wrong with it. */
export function readInitializeResponse(msg: JsonRpcMessage): InitializeResult {
  if ('error' in msg) {
    const { code, message } = msg.error;
    throw new LocalServerError('ERR_LOCAL_SERVER', `local MCP server rejected initialize: ${message} (JSON-RPC error ${code})`);
  }
  const result = 'result' in msg ? (msg.result as Record<string, unknown>) : undefined;
  const serverInfo = result?.serverInfo as InitializeResult['serverInfo'] | undefined;
  if (
    typeof result?.protocolVersion !== 'string' ||
    typeof serverInfo !== 'object' ||
    serverInfo === null ||
    typeof serverInfo.name !== 'string'
  ) {
    throw new LocalServerError(
      'ERR_LOCAL_SERVER',
      'local MCP server answered initialize without protocolVersion or serverInfo.name; is it an MCP server?',
    );
  }
  const out: InitializeResult = {
    protocolVersion: result.protocolVersion,
    capabilities: isObject(result.capabilities) ? result.capabilities : {},
    serverInfo,
  };
  if (typeof result.instructions === 'string') out.instructions = result.instructions;
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
